/**
 * The DynamoDB and SQS adapters against a real AWS API (moto_server).
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsPollQueue } from '../../lib/queue/sqsQueue.js';
import { DynamoTaskStore } from '../../lib/tasks/dynamoStore.js';
import { TaskExistsError } from '../../lib/tasks/store.js';
import { pendingShard, type TaskRecord } from '../../lib/tasks/task.js';
import { taskRecord } from '../support/fixtures.js';
import { atomicDynamoClient, createPollQueue, createTasksTable, dynamoClient, motoEndpoint, sqsClient } from '../support/moto.js';

const T0 = Date.parse('2026-11-25T00:00:00Z');

function task(jobid: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return taskRecord({ jobid, escape_type: 1, message_count: 3, duplicate_list: [{ errcode: 710613, errmsg: 'msgid duplicated', msgid: 'M1' }], ...overrides });
}

describe.skipIf(!motoEndpoint)('DynamoTaskStore on the DynamoDB API', () => {
  let store: DynamoTaskStore;
  let close: () => Promise<void>;
  beforeAll(async () => {
    // Concurrent conditional writes: through the proxy that makes each request atomic, as DynamoDB
    // does and moto_server (under load) does not.
    const atomic = await atomicDynamoClient();
    close = atomic.close;
    store = new DynamoTaskStore(atomic.client, await createTasksTable(atomic.client));
  });
  afterAll(() => close?.());

  it('stores a task once and reads it back as written', async () => {
    await store.create(task('a'));
    expect(await store.get('a')).toEqual(task('a'));
    await expect(store.create(task('a', { attempts: 5 }))).rejects.toBeInstanceOf(TaskExistsError);
    expect((await store.get('a'))?.attempts).toBe(0);
    expect(await store.get('missing')).toBeUndefined();
  });

  it('claims a poll step only when it is due, once among concurrent claimers', async () => {
    await store.create(task('b'));
    expect((await store.claimPoll('b', 0, T0 + 1000, T0 + 61_000)).claimed).toBe(false);
    const claims = await Promise.all(Array.from({ length: 8 }, () => store.claimPoll('b', 0, T0 + 2000, T0 + 62_000)));
    expect(claims.filter((claim) => claim.claimed)).toHaveLength(1);
    expect(await store.get('b')).toMatchObject({ attempts: 1, next_poll_at: T0 + 62_000 });
    // The losers see the task as it is now.
    expect(claims.find((claim) => !claim.claimed)?.task).toMatchObject({ attempts: 1 });
  });

  it('lets only the step that holds the current attempt reschedule or finish, and finishes once', async () => {
    await store.create(task('c'));
    await store.claimPoll('c', 0, T0 + 2000, T0 + 62_000);
    const step = { now: T0 + 2100, nextPollAt: T0 + 4000, lastErrcode: 45009, transientStreak: 2 };
    expect(await store.reschedule('c', { ...step, attempt: 0 })).toBe(false);
    expect(await store.reschedule('c', { ...step, attempt: 1 })).toBe(true);
    expect(await store.get('c')).toMatchObject({ next_poll_at: T0 + 4000, last_errcode: 45009, transient_streak: 2 });

    const outcome = { status: 'SUCCEEDED' as const, response_errcode: 0, response_data: '{"x":1}', fail_list: [] };
    const finishes = await Promise.all(Array.from({ length: 5 }, () => store.finish('c', { attempt: 1, now: T0 + 5000 }, outcome)));
    expect(finishes.filter(Boolean)).toHaveLength(1);
    expect(await store.get('c')).toMatchObject({ status: 'SUCCEEDED', response_data: '{"x":1}', completed_at: new Date(T0 + 5000).toISOString() });
    expect((await store.claimPoll('c', 0, T0 + 999_999, T0 + 1_000_000)).claimed).toBe(false);
  });
});

describe.skipIf(!motoEndpoint)('the sweeper index on the DynamoDB API', () => {
  it('finds overdue PENDING tasks across shards, resumes each once, and drops finished ones from the index', async () => {
    const client = dynamoClient();
    const store = new DynamoTaskStore(client, await createTasksTable(client));
    const ids = ['s1', 's2', 's3', 's4', 's5', 's6'];
    await Promise.all(
      ids.map((jobid, index) => store.create(task(jobid, { pending_shard: pendingShard(jobid), next_poll_at: T0 + index * 1000 }))),
    );
    const overdue = await store.findOverdue(T0 + 3500, 100);
    expect(overdue.map((t) => t.jobid)).toEqual(['s1', 's2', 's3', 's4']);
    expect(await store.findOverdue(T0 + 3500, 2)).toHaveLength(2);

    const resumes = await Promise.all([1, 2, 3].map(() => store.resumeChain('s1', T0, T0 + 10_000)));
    expect(resumes.filter((chain) => chain !== undefined)).toEqual([1]);
    expect(await store.get('s1')).toMatchObject({ chain: 1, next_poll_at: T0 + 10_000 });

    const claim = await store.claimPoll('s2', 0, T0 + 5000, T0 + 6000);
    expect(claim.claimed).toBe(true);
    await store.finish('s2', { attempt: 1, now: T0 + 5000 }, { status: 'FAILED', errcode: 701151, errmsg: 'expired' });
    expect((await store.get('s2'))?.pending_shard).toBeUndefined();
    expect((await store.findOverdue(T0 + 100_000, 100)).map((t) => t.jobid)).not.toContain('s2');
    // A message of chain 0 can no longer claim a task on chain 1.
    expect((await store.claimPoll('s1', 0, T0 + 20_000, T0 + 21_000)).claimed).toBe(false);
    expect((await store.claimPoll('s1', 1, T0 + 20_000, T0 + 21_000)).claimed).toBe(true);
  });
});

describe.skipIf(!motoEndpoint)('SqsPollQueue on the SQS API', () => {
  it('honours DelaySeconds, and holds a message back with ChangeMessageVisibility', async () => {
    const client = sqsClient();
    const queue = new SqsPollQueue(client, await createPollQueue(client));
    await queue.sendPoll({ jobid: 'j1' }, 1);
    expect(await queue.receive(10, 0)).toEqual([]);
    const [record] = await queue.receive(10, 3);
    expect(JSON.parse(record?.body ?? '')).toEqual({ jobid: 'j1' });
    expect(record?.attributes.ApproximateReceiveCount).toBe('1');

    await queue.deferPoll(record?.receiptHandle ?? '', 2);
    expect(await queue.receive(10, 0)).toEqual([]);
    const [again] = await queue.receive(10, 4);
    expect(again?.messageId).toBe(record?.messageId);
    expect(again?.attributes.ApproximateReceiveCount).toBe('2');

    await queue.delete(again?.receiptHandle ?? '');
    await queue.deferPoll(again?.receiptHandle ?? '', 0).catch(() => undefined);
    const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl: queue.queueUrl, WaitTimeSeconds: 1 }));
    expect(Messages).toEqual([]);
  });
});
