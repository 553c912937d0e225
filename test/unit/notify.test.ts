import { beforeEach, describe, expect, it, vi } from 'vitest';
import { signCallback, verifyCallback } from '../../lib/notify/callback.js';
import { type CompletionEvent, completionEvent, MemoryCompletionPublisher } from '../../lib/notify/completion.js';
import { CallbackDeliveryError } from '../../lib/notify/errors.js';
import { MAX_EVENT_ATTEMPTS, notifyCompletion } from '../../lib/notify/notifyCompletion.js';
import { MemoryTaskStore } from '../../lib/tasks/memoryStore.js';
import type { TaskRecord } from '../../lib/tasks/task.js';
import { recordingLogger } from '../support/fixtures.js';

const T0 = Date.parse('2026-11-25T00:00:00Z');
const ended: TaskRecord = {
  jobid: 'job1',
  status: 'SUCCEEDED',
  program_id: 'P',
  ability_id: 'A',
  corp_id: 'corp-a',
  escape_type: 0,
  message_count: 2,
  duplicate_list: [{ errcode: 710613, errmsg: 'dup', msgid: 'M1' }],
  attempts: 3,
  chain: 0,
  created_at: new Date(T0).toISOString(),
  updated_at: new Date(T0 + 9000).toISOString(),
  completed_at: new Date(T0 + 9000).toISOString(),
  next_poll_at: T0,
  deadline_at: T0 + 86_400_000,
  expires_at: 0,
  response_errcode: 0,
  response_data: '{"avg_reply_time":2}',
  fail_list: [],
  callback_url: 'https://example.invalid/hook',
};

let store: MemoryTaskStore;
beforeEach(async () => {
  store = new MemoryTaskStore();
  await store.create(ended);
});

describe('completion notifications', () => {
  it('the event carries ids, status, codes and times, never the output', () => {
    const event = completionEvent(ended);
    expect(event).toEqual({
      jobid: 'job1',
      status: 'SUCCEEDED',
      program_id: 'P',
      ability_id: 'A',
      errcode: null,
      response_errcode: 0,
      attempts: 3,
      failed_messages: 1,
      created_at: ended.created_at,
      completed_at: ended.completed_at,
      duration_ms: 9000,
    });
    expect(JSON.stringify(event)).not.toContain('avg_reply_time');
  });

  it('publishes once, delivers the callback once, and records both', async () => {
    const publisher = new MemoryCompletionPublisher();
    const deliver = vi.fn(async (_url: string, _event: CompletionEvent) => undefined);
    const deps = { store, logger: recordingLogger(), notifier: { publisher, callbacks: { deliver } } };
    expect(await notifyCompletion(ended, deps)).toEqual({ done: true });
    const recorded = await store.get('job1');
    expect(recorded).toMatchObject({ callback_attempts: 1 });
    expect(recorded?.event_published_at).toBeDefined();
    expect(recorded?.callback_delivered_at).toBeDefined();
    // A later delivery of the message finds nothing left to do.
    expect(await notifyCompletion(recorded as TaskRecord, deps)).toEqual({ done: true });
    expect(publisher.published).toHaveLength(1);
    expect(deliver).toHaveBeenCalledTimes(1);
  });

  it('a failing publish neither holds the callback back nor retries forever', async () => {
    const publisher = { publish: vi.fn(async () => Promise.reject(new Error('throttled'))) };
    const deliver = vi.fn(async () => undefined);
    const deps = { store, logger: recordingLogger(), notifier: { publisher, callbacks: { deliver } } };
    const first = await notifyCompletion(ended, deps);
    expect(first.done).toBe(false);
    expect(deliver).toHaveBeenCalledTimes(1);
    let result = first;
    for (let i = 1; i < MAX_EVENT_ATTEMPTS; i++)
      result = await notifyCompletion((await store.get('job1')) as TaskRecord, deps);
    expect(result).toEqual({ done: true });
    expect(publisher.publish).toHaveBeenCalledTimes(MAX_EVENT_ATTEMPTS);
    expect(deliver).toHaveBeenCalledTimes(1);
    expect(await store.get('job1')).toMatchObject({ event_attempts: MAX_EVENT_ATTEMPTS, event_abandoned: true });
    expect(deps.logger.lines.join('\n')).toContain('completion event abandoned');
  });

  it('retries a failing callback with growing waits, then gives up after maxCallbackAttempts', async () => {
    const deliver = vi.fn(async () => Promise.reject(new CallbackDeliveryError('callback answered HTTP 500')));
    const deps = { store, logger: recordingLogger(), notifier: { callbacks: { deliver }, maxCallbackAttempts: 3 } };
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const result = await notifyCompletion((await store.get('job1')) as TaskRecord, deps);
      if (!result.done) waits.push(result.retryInSeconds);
      else expect(i).toBe(2);
    }
    expect(waits).toHaveLength(2);
    expect(waits[1]).toBeGreaterThan(waits[0] ?? 0);
    expect(await store.get('job1')).toMatchObject({ callback_attempts: 3, callback_abandoned: true });
    expect(deps.logger.lines.join('\n')).toContain('completion callback abandoned');
    expect(deps.logger.lines.join('\n')).not.toContain('example.invalid');
  });
});

describe('callback signatures', () => {
  const secret = 'a-shared-secret-of-some-length';
  const body = '{"jobid":"job1"}';
  const now = T0;
  const timestamp = String(Math.floor(now / 1000));

  it('verifies a signature made over the timestamp and the body', () => {
    const signature = signCallback(secret, Number(timestamp), body);
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyCallback(secret, timestamp, signature, body, { now })).toBe(true);
  });

  it('refuses another body, another secret, a stale timestamp or a missing header', () => {
    const signature = signCallback(secret, Number(timestamp), body);
    expect(verifyCallback(secret, timestamp, signature, `${body} `, { now })).toBe(false);
    expect(verifyCallback('another-secret-entirely', timestamp, signature, body, { now })).toBe(false);
    expect(verifyCallback(secret, timestamp, signature, body, { now: now + 301_000 })).toBe(false);
    expect(verifyCallback(secret, undefined, signature, body, { now })).toBe(false);
  });
});

describe('Powertools metrics', () => {
  it('publishes counts and the time to completion as one EMF line, with no content, when the invocation ends', async () => {
    const { Metrics } = await import('@aws-lambda-powertools/metrics');
    const { default: middy } = await import('@middy/core');
    const { PowertoolsTaskMetrics, METRIC_NAMESPACE, publishMetrics } = await import('../../lib/metrics.js');
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const metrics = new PowertoolsTaskMetrics(new Metrics({ namespace: METRIC_NAMESPACE, serviceName: 'test' }));
      const handler = middy()
        .use(publishMetrics(metrics))
        .handler(async () => {
          metrics.taskCreated();
          metrics.polled('pending');
          metrics.polled('final');
          metrics.taskCompleted('SUCCEEDED', 1234);
          expect(lines).toEqual([]); // published after the handler, not before
        });
      await handler({}, { functionName: 'pollResult' } as never);
    } finally {
      spy.mockRestore();
    }
    const emf = JSON.parse(lines.join('').trim().split('\n').at(-1) ?? '{}');
    expect(emf._aws.CloudWatchMetrics[0].Namespace).toBe(METRIC_NAMESPACE);
    expect(emf).toMatchObject({
      TasksCreated: 1,
      Polls: [1, 1],
      PollsPending: 1,
      PollsFinal: 1,
      TasksSucceeded: 1,
      TimeToCompletion: 1234,
    });
  });
});
