/**
 * The call budget on the real DynamoDB API: shared counters taken by concurrent callers.
 */
import { describe, expect, it } from 'vitest';
import { DynamoCallBudget } from '../../lib/budget/dynamoBudget.js';
import { createTasksTable, dynamoClient, motoEndpoint } from '../support/moto.js';

const T0 = Date.parse('2026-11-25T10:00:00Z');

describe.skipIf(!motoEndpoint)('DynamoCallBudget on the DynamoDB API', () => {
  it('grants exactly the limit among 40 concurrent callers, per corp and window', async () => {
    const client = dynamoClient();
    const budget = new DynamoCallBudget(client, await createTasksTable(client), [
      { seconds: 60, limit: 25 },
      { seconds: 3600, limit: 1000 },
    ]);
    // The first call creates the counter items. (moto does not serialise conditional writes that
    // create an item, as DynamoDB does; on existing items it does.)
    const first = await budget.tryAcquire('corp-a', T0);
    const decisions = [first, ...(await Promise.all(Array.from({ length: 39 }, (_, i) => budget.tryAcquire('corp-a', T0 + i))))];
    expect(decisions.filter((d) => d.granted)).toHaveLength(25);
    expect(decisions.find((d) => !d.granted)).toEqual({ granted: false, retryAt: T0 + 60_000 });
    expect((await budget.tryAcquire('corp-b', T0)).granted).toBe(true);
    expect((await budget.tryAcquire('corp-a', T0 + 60_000)).granted).toBe(true);
  });

  it('gives the minute back when the hour is spent, and spends the minute on exhaust', async () => {
    const client = dynamoClient();
    const budget = new DynamoCallBudget(client, await createTasksTable(client), [
      { seconds: 60, limit: 2 },
      { seconds: 3600, limit: 1 },
    ]);
    expect((await budget.tryAcquire('c', T0)).granted).toBe(true);
    expect(await budget.tryAcquire('c', T0 + 1)).toEqual({ granted: false, retryAt: T0 + 3_600_000 });
    // The refused call took nothing from the minute: a new hour grants again.
    expect((await budget.tryAcquire('c', T0 + 3_600_000)).granted).toBe(true);
    await budget.exhaust('c', T0 + 3_600_500);
    expect(await budget.tryAcquire('c', T0 + 3_600_600)).toEqual({ granted: false, retryAt: T0 + 3_660_000 });
  });
});
