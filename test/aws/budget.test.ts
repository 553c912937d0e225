/**
 * The call budget on the real DynamoDB API: shared counters taken by concurrent callers.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { DynamoCallBudget } from '../../lib/budget/dynamoBudget.js';
import { MemoryCallBudget } from '../../lib/budget/memoryBudget.js';
import type { BudgetDecision } from '../../lib/budget/port.js';
import { atomicDynamoClient, createTasksTable, dynamoClient, motoEndpoint } from '../support/moto.js';

const T0 = Date.parse('2026-11-25T10:00:00Z');

describe.skipIf(!motoEndpoint)('DynamoCallBudget on the DynamoDB API', () => {
  it('grants exactly the limit among 40 concurrent callers, per corp and window', async () => {
    const { client, close } = await atomicDynamoClient();
    onTestFinished(close);
    const budget = new DynamoCallBudget(client, await createTasksTable(client), [
      { seconds: 60, limit: 25 },
      { seconds: 3600, limit: 1000 },
    ]);
    const first = await budget.tryAcquire('corp-a', T0);
    // Each caller its own container (its own view of the counters), as concurrent Lambdas are.
    const decisions = [
      first,
      ...(await Promise.all(
        Array.from({ length: 39 }, (_, i) => new DynamoCallBudget(client, budget.tableName, budget.windows).tryAcquire('corp-a', T0 + i)),
      )),
    ];
    expect(decisions.filter((d) => d.granted)).toHaveLength(25);
    expect(decisions.find((d) => !d.granted)).toEqual({ granted: false, retryAt: T0 + 61_000, reason: 'budget' });
    expect((await budget.tryAcquire('corp-b', T0)).granted).toBe(true);
    // Sliding: the 25 calls stay in every 60 s span that reaches back to them.
    expect((await budget.tryAcquire('corp-a', T0 + 60_000)).granted).toBe(false);
    expect((await budget.tryAcquire('corp-a', T0 + 61_000)).granted).toBe(true);
  });

  it('gives the minute back when the hour is spent, and blocks the minute on a 45009', async () => {
    const client = dynamoClient();
    const budget = new DynamoCallBudget(client, await createTasksTable(client), [
      { seconds: 60, limit: 2 },
      { seconds: 3600, limit: 1 },
    ]);
    expect((await budget.tryAcquire('c', T0)).granted).toBe(true);
    expect(await budget.tryAcquire('c', T0 + 1)).toEqual({ granted: false, retryAt: T0 + 3_660_000, reason: 'budget' });
    // The refused call took nothing from the minute: after the hour, the minute still has its second call.
    expect((await budget.tryAcquire('c', T0 + 3_660_000)).granted).toBe(true);
    await budget.exhaust('c', T0 + 3_660_500);
    expect(await budget.tryAcquire('c', T0 + 3_660_600)).toEqual({ granted: false, retryAt: T0 + 3_720_500, reason: 'rate_limited' });
  });

  // Issue 13: with fixed windows, the budget's calls just before a minute boundary and as many just
  // after it made twice the limit within one second. Here (limit 20, 25 calls each side) the second
  // burst gets nothing, on DynamoDB as in memory, wherever the boundary falls.
  it('a burst before a minute boundary and one after: never more than the limit in any 60 s, as the memory adapter decides', async () => {
    const client = dynamoClient();
    const table = await createTasksTable(client);
    const windows = [
      { seconds: 60, limit: 20 },
      { seconds: 3600, limit: 600 },
    ];
    for (const offset of [0, 999]) {
      const corp = `corp-${offset}`;
      const dynamo = new DynamoCallBudget(client, table, windows);
      const memory = new MemoryCallBudget(windows);
      const boundary = T0 + 120_000 + offset;
      const fromDynamo: BudgetDecision[] = [];
      const fromMemory: BudgetDecision[] = [];
      for (const at of [boundary - 500, boundary + 500]) {
        for (let i = 0; i < 25; i++) {
          fromDynamo.push(await dynamo.tryAcquire(corp, at));
          fromMemory.push(await memory.tryAcquire(corp, at));
        }
      }
      expect(fromDynamo).toEqual(fromMemory);
      expect(fromDynamo.filter((decision) => decision.granted)).toHaveLength(20);
      expect(fromDynamo.slice(25).filter((decision) => decision.granted)).toHaveLength(0);
    }
  });
});
