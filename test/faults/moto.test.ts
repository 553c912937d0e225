/**
 * The fault scenarios on the AWS adapters: DynamoDB and SQS on moto_server, the zone emulator across
 * a socket with faults (an injected -10002 drops the connection), every poll message sent twice,
 * two event source mappings polling the same queue: conditional-write races on the real DynamoDB API.
 */
import { describe, expect, it } from 'vitest';
import { commonConfig } from '../../lib/config.js';
import { makePollResultHandler } from '../../lib/handlers/pollResult.js';
import { startEventSourceMapping } from '../../lib/local/eventSourceMapping.js';
import { startLocalStack } from '../../lib/local/stack.js';
import { DEFAULT_POLL_SCHEDULE } from '../../lib/poll/schedule.js';
import type { PollMessage } from '../../lib/queue/port.js';
import { DynamoIdempotencyStore } from '../../lib/tasks/dynamoIdempotencyStore.js';
import { DynamoTaskStore } from '../../lib/tasks/dynamoStore.js';
import { zoneClient } from '../../lib/zone/client.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { serveEmulator } from '../../lib/zone/emulator/server.js';
import { HttpZoneTransport } from '../../lib/zone/httpTransport.js';
import { DOC_EXAMPLE_REQUEST, recordingLogger } from '../support/fixtures.js';
import {
  createIdempotencyTable,
  createPollQueue,
  createTasksTable,
  dynamoClient,
  motoEndpoint,
  sqsClient,
} from '../support/moto.js';
import { SqsTestQueue } from '../support/sqsConsumer.js';
import { recordFigures } from './report.js';
import { duplicatedCompletions, seededRandom, settle, submitMany } from './support.js';

const FAST = {
  firstDelaySeconds: 0,
  minWaitSeconds: 0,
  growth: 0,
  maxWaitSeconds: 1,
  maxAttempts: 10_000,
  leaseSeconds: 1,
};

describe.skipIf(!motoEndpoint)('fault scenarios on DynamoDB + SQS (moto)', () => {
  it('zone faults over HTTP, every message twice, two pollers on one queue: one completion each, none lost', async () => {
    const tasks = 40;
    const emulator = new ZoneEmulator({
      archive: SAMPLE_ARCHIVE,
      programs: samplePrograms(300),
      faults: { errorRate: 0.3, errcodes: [-1, 45009, -10002], random: seededRandom(7) },
    });
    const served = await serveEmulator(emulator);
    const dynamodb = dynamoClient();
    const sqs = sqsClient();
    const store = new DynamoTaskStore(dynamodb, await createTasksTable(dynamodb));
    const queue = new SqsTestQueue(sqs, await createPollQueue(sqs, 2));
    const sendPoll = queue.sendPoll.bind(queue);
    let duplicates = 0;
    queue.sendPoll = async (pollMessage: PollMessage, delaySeconds: number) => {
      await sendPoll(pollMessage, delaySeconds);
      await sendPoll(pollMessage, delaySeconds);
      duplicates += 1;
    };
    const logger = recordingLogger();
    const zone = new HttpZoneTransport({ baseUrl: served.url });
    const stack = await startLocalStack({
      store,
      queue,
      zone,
      logger,
      idempotency: new DynamoIdempotencyStore(dynamodb, await createIdempotencyTable(dynamodb)),
      schedule: FAST,
      pollConcurrency: 2,
      // Random 45009s are transient faults here, not a rate limit (see test/faults/rateLimit.test.ts).
      env: { BUDGET_PER_MINUTE: '0', BUDGET_PER_HOUR: '0' },
    });
    // A second, independent poller fleet on the same queue and table.
    const secondFleet = startEventSourceMapping({
      consumer: queue,
      concurrency: 2,
      handler: makePollResultHandler({
        ...commonConfig({}),
        schedule: { ...DEFAULT_POLL_SCHEDULE, ...FAST },
        store,
        queue,
        logger,
        zone: zoneClient(zone),
      }),
    });
    try {
      const jobids = await submitMany(stack.url, tasks, DOC_EXAMPLE_REQUEST);
      const tally = await settle(store, jobids, 90_000);
      const duplicated = duplicatedCompletions(logger.lines);
      await recordFigures('6-moto-races', {
        scenario: 'moto: zone faults over HTTP (30 %), every message twice, two poller fleets on one queue',
        tasks,
        faultsInjected: emulator.faultsInjected + duplicates,
        terminal: tally.terminal,
        duplicated,
        lost: tally.lost,
        notes: `${emulator.faultsInjected} zone faults + ${duplicates} duplicated messages; ${tally.polls} polls`,
      });
      expect(new Set(jobids).size).toBe(tasks);
      expect(emulator.jobCount).toBe(tasks);
      expect(tally).toMatchObject({ terminal: tasks, succeeded: tasks, lost: 0 });
      expect(duplicated).toBe(0);
    } finally {
      await secondFleet.stop();
      await stack.stop();
      await served.close();
    }
  }, 120_000);
});
