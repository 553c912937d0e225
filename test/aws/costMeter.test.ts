/**
 * The cost meter (`bench/meter.ts`) counts each port call as the AWS requests its adapter sends: here
 * the real DynamoDB adapters on moto run a task's whole poll chain, the SDK's own middleware counts
 * the requests that reach DynamoDB, and the meter must count the same. Counts, not times.
 */

import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { AwsMeter, MeteredBudget, MeteredQueue, MeteredTaskStore } from '../../bench/meter.js';
import { DynamoCallBudget } from '../../lib/budget/dynamoBudget.js';
import { DEFAULT_CLASSIFIER } from '../../lib/poll/classify.js';
import { type PollDependencies, pollTaskRecord } from '../../lib/poll/pollTask.js';
import { DEFAULT_POLL_SCHEDULE } from '../../lib/poll/schedule.js';
import { ERRCODE } from '../../lib/protocol/errcodes.js';
import type { GetProgramTaskResultResponse } from '../../lib/protocol/zone.js';
import { EmbeddedQueue } from '../../lib/queue/embeddedQueue.js';
import { DynamoTaskStore } from '../../lib/tasks/dynamoStore.js';
import { recordingLogger, taskRecord } from '../support/fixtures.js';
import { createTasksTable, dynamoClient, motoEndpoint } from '../support/moto.js';

const T0 = Date.parse('2026-11-25T00:00:00Z');
const PENDING: GetProgramTaskResultResponse = { errcode: ERRCODE.resultPending, errmsg: 'waiting', fail_list: [] };
const DONE: GetProgramTaskResultResponse = {
  errcode: 0,
  errmsg: 'ok',
  fail_list: [],
  response_errcode: 0,
  response_data: '{"score":1}',
};

/** DynamoDB requests by command, as they leave the SDK. */
function countRequests(client: DynamoDBClient): Map<string, number> {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      counts.set(command, (counts.get(command) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: `count-${randomUUID()}` },
  );
  return counts;
}

describe.skipIf(!motoEndpoint)('the cost meter counts what the DynamoDB adapters send', () => {
  it('a task polled five times, with a transient answer and a budget wait (the minute spent), then finished', async () => {
    const client = dynamoClient();
    const table = await createTasksTable(client);
    const windows = [
      // The warm-up and three polls fill the minute: the fourth poll waits for the budget.
      { seconds: 60, limit: 4 },
      { seconds: 3600, limit: 1000 },
    ];
    const dynamoBudget = new DynamoCallBudget(client, table, windows);
    // A warm container: its first read of each counter is not a task's (the meter leaves it out).
    expect((await dynamoBudget.tryAcquire('corp-a', T0)).granted).toBe(true);
    const requests = countRequests(client);
    const sizingStore = new DynamoTaskStore(dynamoClient(), table);

    let now = T0 + 2000;
    const meter = new AwsMeter({ memoryMb: 256, budgetWindowSeconds: [60, 3600] });
    const store = new MeteredTaskStore(new DynamoTaskStore(client, table), meter.usage, (jobid) =>
      sizingStore.get(jobid),
    );
    const queue = new EmbeddedQueue({ now: () => now });
    const budget = new MeteredBudget(dynamoBudget, meter.usage, [60, 3600]);
    const answers = [PENDING, { errcode: -1, errmsg: 'busy', fail_list: [] }, PENDING, PENDING, DONE];
    const deps: PollDependencies = {
      store,
      budget,
      queue: new MeteredQueue(queue, meter.usage),
      zone: {
        createProgramTask: async () => ({ errcode: 0, errmsg: 'ok', fail_list: [] }),
        getProgramTaskResult: async () => answers.shift() ?? PENDING,
      },
      schedule: { ...DEFAULT_POLL_SCHEDULE, jitter: 0 },
      classifier: DEFAULT_CLASSIFIER,
      logger: recordingLogger(),
      now: () => now,
      random: () => 0,
    };
    await store.create(taskRecord({ jobid: 'metered', created_at: new Date(T0).toISOString(), next_poll_at: T0 }));
    await queue.sendPoll({ jobid: 'metered' }, 0);
    const outcomes: string[] = [];
    for (let delivery = 0; delivery < 6 && outcomes.at(-1) !== 'done'; delivery++) {
      let record = (await queue.receive(1, 0))[0];
      while (!record) {
        now += 1000;
        record = (await queue.receive(1, 0))[0];
      }
      outcomes.push(await pollTaskRecord(record, deps));
    }
    expect(outcomes).toEqual(['waiting', 'waiting', 'waiting', 'waiting', 'waiting', 'done']);
    const writes = (requests.get('PutItemCommand') ?? 0) + (requests.get('UpdateItemCommand') ?? 0);
    expect(meter.usage.dynamoWriteRequests).toBe(writes);
    expect(meter.usage.dynamoReadRequests).toBe(requests.get('GetItemCommand') ?? 0);
    // The create, one claim, the transient answer and the one after it, the budget wait, the finish;
    // five polls' budget grants, two windows each: the rest of the polls wrote nothing.
    expect(meter.usage.taskWrites).toBe(6);
    expect(meter.usage.budgetWrites).toBe(10);
    expect(meter.usage.sqsChangeVisibility).toBe(5);
  });
});
