/**
 * Fault scenarios through the local stack (the same handlers, embedded queue and store, the zone
 * emulator with its fault knobs). Each writes its figures for `npm run test:faults`.
 */

import type { SQSEvent } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commonConfig } from '../../lib/config.js';
import { makePollResultHandler } from '../../lib/handlers/pollResult.js';
import { localContext, startEventSourceMapping } from '../../lib/local/eventSourceMapping.js';
import { startLocalStack } from '../../lib/local/stack.js';
import { DEFAULT_POLL_SCHEDULE } from '../../lib/poll/schedule.js';
import { EmbeddedQueue } from '../../lib/queue/embeddedQueue.js';
import type { PollMessage } from '../../lib/queue/port.js';
import { MemoryTaskStore } from '../../lib/tasks/memoryStore.js';
import { zoneClient } from '../../lib/zone/client.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { DOC_EXAMPLE_REQUEST, message, recordingLogger } from '../support/fixtures.js';
import { recordFigures } from './report.js';
import { duplicatedCompletions, seededRandom, settle, submitMany, submitWithRetries } from './support.js';

const NO_BUDGET = { BUDGET_PER_MINUTE: '0', BUDGET_PER_HOUR: '0' };

/** Fast schedule: zero-second waits (1 s backoff after transient answers), short lease. */
const FAST = {
  firstDelaySeconds: 0,
  minWaitSeconds: 0,
  growth: 0,
  maxWaitSeconds: 1,
  maxAttempts: 10_000,
  leaseSeconds: 1,
};

describe('fault scenarios (local stack)', () => {
  it('200 tasks with the zone failing 30 % of calls (-1, 45009, -10002): all finish, none duplicated, none lost', async () => {
    const tasks = 200;
    const zone = new ZoneEmulator({
      archive: SAMPLE_ARCHIVE,
      programs: samplePrograms(200),
      faults: { errorRate: 0.3, errcodes: [-1, 45009, -10002], random: seededRandom(53659) },
    });
    const store = new MemoryTaskStore();
    const queue = new EmbeddedQueue({ visibilityTimeoutSeconds: 2 });
    const logger = recordingLogger();
    // Random 45009s are transient faults here, not a rate limit: without a budget they would each
    // (rightly) make the whole corp back off for a minute (test/faults/rateLimit.test.ts covers that).
    const stack = await startLocalStack({
      zone,
      store,
      queue,
      logger,
      schedule: FAST,
      pollConcurrency: 4,
      env: NO_BUDGET,
    });
    try {
      const submitted = await Promise.all(
        Array.from({ length: tasks }, (_, i) =>
          submitWithRetries(stack.url, { ...DOC_EXAMPLE_REQUEST, msg_list: [message(1 + (i % 4)), message(2)] }),
        ),
      );
      const jobids = submitted.map((s) => s.jobid);
      const tally = await settle(store, jobids);
      const duplicated = duplicatedCompletions(logger.lines);
      await recordFigures('1-zone-faults', {
        scenario: 'zone fails 30 % of calls (-1, 45009, -10002), clients retry POST with an Idempotency-Key',
        tasks,
        faultsInjected: zone.faultsInjected,
        terminal: tally.terminal,
        duplicated,
        lost: tally.lost,
        notes: `${zone.calls.create_program_task} create and ${zone.calls.get_program_task_result} result calls, ${tally.polls} polls, ${submitted.reduce((sum, s) => sum + s.tries, 0) - tasks} POST retries`,
      });
      expect(new Set(jobids).size).toBe(tasks);
      expect(zone.jobCount).toBe(tasks);
      expect(store.snapshot()).toHaveLength(tasks);
      expect(tally).toMatchObject({ terminal: tasks, succeeded: tasks, lost: 0 });
      expect(duplicated).toBe(0);
      expect(zone.faultsInjected).toBeGreaterThan(50);
    } finally {
      await stack.stop();
    }
  }, 120_000);

  it('the poller dies mid-batch: the unfinished records come back and finish', async () => {
    const tasks = 30;
    const store = new MemoryTaskStore();
    const queue = new EmbeddedQueue({ visibilityTimeoutSeconds: 1 });
    const logger = recordingLogger();
    const zone = new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(0) });
    let crashes = 0;
    const stack = await startLocalStack({
      zone,
      store,
      queue,
      logger,
      schedule: FAST,
      pollConcurrency: 1,
    });
    // Swap the poller for one that handles the first record of a batch, then dies (three times). It
    // starts once every task's message is waiting, so its batches hold several records for sure.
    await stack.poller.stop();
    const jobids = await submitMany(stack.url, tasks, DOC_EXAMPLE_REQUEST);
    const poll = makePollResultHandler({
      ...commonConfig({}),
      schedule: { ...DEFAULT_POLL_SCHEDULE, ...FAST },
      store,
      queue,
      logger,
      zone: zoneClient(zone),
    });
    const dying = startEventSourceMapping({
      consumer: queue,
      batchSize: 10,
      concurrency: 1,
      handler: async (event: SQSEvent) => {
        if (crashes < 3 && event.Records.length > 1) {
          crashes += 1;
          await poll({ Records: event.Records.slice(0, 1) }, localContext('pollResult'));
          throw new Error('poller died mid-batch');
        }
        return poll(event, localContext('pollResult'));
      },
    });
    try {
      const tally = await settle(store, jobids);
      const duplicated = duplicatedCompletions(logger.lines);
      await recordFigures('2-poller-crash', {
        scenario: 'the poller dies mid-batch (after the first record)',
        tasks,
        faultsInjected: crashes,
        terminal: tally.terminal,
        duplicated,
        lost: tally.lost,
        notes: `${crashes} crashed invocations of batches of up to 10`,
      });
      expect(crashes).toBe(3);
      expect(tally).toMatchObject({ terminal: tasks, succeeded: tasks, lost: 0 });
      expect(duplicated).toBe(0);
    } finally {
      await dying.stop();
      await stack.stop();
    }
  }, 60_000);

  it('the SQS send after creation fails: the sweeper resumes the tasks', async () => {
    const tasks = 20;
    const store = new MemoryTaskStore();
    const queue = new EmbeddedQueue();
    let failedSends = 0;
    const sendPoll = queue.sendPoll.bind(queue);
    queue.sendPoll = async (pollMessage: PollMessage, delaySeconds: number) => {
      // Every first send of a task fails; the sweeper's send (chain 1) goes through.
      if ((pollMessage.chain ?? 0) === 0) {
        failedSends += 1;
        throw new Error('SQS unavailable');
      }
      return sendPoll(pollMessage, delaySeconds);
    };
    const logger = recordingLogger();
    const stack = await startLocalStack({
      zone: new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(0) }),
      store,
      queue,
      logger,
      schedule: FAST,
      env: { SWEEP_GRACE_SECONDS: '1' },
      sweepEverySeconds: 1,
    });
    try {
      const jobids = await submitMany(stack.url, tasks, DOC_EXAMPLE_REQUEST);
      const tally = await settle(store, jobids, 30_000);
      const duplicated = duplicatedCompletions(logger.lines);
      await recordFigures('3-lost-first-send', {
        scenario: 'the first SendMessage of every task fails; the sweeper resumes them',
        tasks,
        faultsInjected: failedSends,
        terminal: tally.terminal,
        duplicated,
        lost: tally.lost,
        notes: `${logger.lines.filter((line) => line.includes('resumed an orphaned task')).length} tasks resumed on chain 1`,
      });
      expect(failedSends).toBe(tasks);
      expect(tally).toMatchObject({ terminal: tasks, succeeded: tasks, lost: 0 });
      expect((await Promise.all(jobids.map((jobid) => store.get(jobid)))).every((task) => task?.chain === 1)).toBe(
        true,
      );
      expect(duplicated).toBe(0);
    } finally {
      await stack.stop();
    }
  }, 60_000);

  it('every poll message is delivered twice: one completion each', async () => {
    const tasks = 50;
    const store = new MemoryTaskStore();
    const queue = new EmbeddedQueue({ visibilityTimeoutSeconds: 2 });
    const sendPoll = queue.sendPoll.bind(queue);
    let duplicates = 0;
    queue.sendPoll = async (pollMessage: PollMessage, delaySeconds: number) => {
      await sendPoll(pollMessage, delaySeconds);
      await sendPoll(pollMessage, delaySeconds); // at-least-once: the same message, twice
      duplicates += 1;
    };
    const zone = new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(50) });
    const logger = recordingLogger();
    const stack = await startLocalStack({ zone, store, queue, logger, schedule: FAST, pollConcurrency: 4 });
    try {
      const jobids = await submitMany(stack.url, tasks, DOC_EXAMPLE_REQUEST);
      const tally = await settle(store, jobids);
      const duplicated = duplicatedCompletions(logger.lines);
      await recordFigures('4-duplicate-delivery', {
        scenario: 'every poll message delivered twice, 4 concurrent pollers',
        tasks,
        faultsInjected: duplicates,
        terminal: tally.terminal,
        duplicated,
        lost: tally.lost,
        notes: `${zone.calls.get_program_task_result} result calls for ${tally.polls} claimed polls (a duplicate never calls the zone)`,
      });
      expect(tally).toMatchObject({ terminal: tasks, succeeded: tasks, lost: 0 });
      expect(duplicated).toBe(0);
      expect(zone.calls.get_program_task_result).toBe(tally.polls);
    } finally {
      await stack.stop();
    }
  }, 60_000);

  it('bad input never answers 5xx: random JSON, random bytes, wrong types, hostile keys', async () => {
    const stack = await startLocalStack({ logger: recordingLogger() });
    const statuses: number[] = [];
    try {
      const post = async (body: string | Buffer, contentType = 'application/json') => {
        const payload = typeof body === 'string' ? body : new Uint8Array(body);
        const response = await fetch(`${stack.url}/tasks`, {
          method: 'POST',
          headers: { 'content-type': contentType },
          body: payload,
        });
        statuses.push(response.status);
        const answer = (await response.json()) as { error?: string; message?: string };
        return { status: response.status, answer };
      };
      const field = fc.constantFrom(
        'program_id',
        'ability_id',
        'msg_list',
        'debug_info',
        'escape_type',
        '__proto__',
        'constructor',
        'prototype',
      );
      const hostile = fc.dictionary(fc.oneof(field, fc.string()), fc.jsonValue(), { maxKeys: 6 });
      const mutated = fc
        .record({ key: field, value: fc.jsonValue() })
        .map(({ key, value }) => ({ ...DOC_EXAMPLE_REQUEST, [key]: value }));
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.jsonValue(), hostile, mutated), async (body) => {
          const { status, answer } = await post(JSON.stringify(body));
          // A mutation can happen to stay valid (e.g. escape_type 1): that is a 202, never a 5xx.
          expect(status === 202 || (status >= 400 && status < 500)).toBe(true);
          if (status !== 202) expect(answer.message).toMatch(/\S/);
        }),
        { numRuns: 300, seed: 53659 },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ maxLength: 200 }),
          fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
          async (bytes, contentType) => {
            const { status } = await post(Buffer.from(bytes), contentType);
            expect(status).toBeGreaterThanOrEqual(400);
            expect(status).toBeLessThan(500);
          },
        ),
        { numRuns: 200, seed: 53659 },
      );
      const jobids = ['', '%00', '..%2F..', 'a'.repeat(200), '%E4%BD%A0', '<script>'];
      for (const jobid of jobids) statuses.push((await fetch(`${stack.url}/tasks/${jobid}`)).status);
      await recordFigures('5-bad-input', {
        scenario: 'bad input: random JSON, hostile keys, random bytes, odd jobids',
        tasks: 0,
        faultsInjected: statuses.length,
        terminal: 0,
        duplicated: 0,
        lost: 0,
        notes: `${statuses.length} bad requests tried, ${statuses.filter((s) => s >= 500).length} answered 5xx`,
      });
      expect(statuses.filter((status) => status >= 500)).toEqual([]);
    } finally {
      await stack.stop();
    }
  }, 60_000);
});
