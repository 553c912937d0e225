/**
 * The call budget port's contract, on every adapter: in memory, the durable SQLite budget, and
 * DynamoDB (moto_server). Counters per corp and fixed window, all windows or none.
 */
import { describe, expect, it } from 'vitest';
import { DynamoCallBudget } from '../../lib/budget/dynamoBudget.js';
import { MemoryCallBudget } from '../../lib/budget/memoryBudget.js';
import type { BudgetWindow, CallBudget } from '../../lib/budget/port.js';
import { SqliteCallBudget } from '../../lib/budget/sqliteBudget.js';
import { createTasksTable, dynamoClient } from '../support/moto.js';
import { AWS, type AdapterKind, MEMORY, race, SQLITE, tempDatabase } from './adapters.js';

const T0 = Date.parse('2026-11-25T10:00:00Z');

const adapters: { kind: AdapterKind; make: (windows: BudgetWindow[]) => Promise<CallBudget> }[] = [
  { kind: MEMORY, make: async (windows) => new MemoryCallBudget(windows) },
  { kind: SQLITE, make: async (windows) => new SqliteCallBudget(tempDatabase(), windows) },
  {
    kind: AWS,
    make: async (windows) => {
      const client = dynamoClient();
      return new DynamoCallBudget(client, await createTasksTable(client), windows);
    },
  },
];

for (const { kind, make } of adapters) {
  describe.skipIf(!kind.available)(`CallBudget contract on ${kind.name}`, () => {
    it('grants up to the limit of every window, then refuses until the window ends; corps are apart', async () => {
      const budget = await make([
        { seconds: 60, limit: 3 },
        { seconds: 3600, limit: 5 },
      ]);
      for (let i = 0; i < 3; i++) expect(await budget.tryAcquire('a', T0 + i)).toEqual({ granted: true });
      expect(await budget.tryAcquire('a', T0 + 10)).toEqual({ granted: false, retryAt: T0 + 60_000 });
      expect(await budget.tryAcquire('b', T0 + 10)).toEqual({ granted: true });
      // Next minute: two more, then the hour is spent.
      expect(await budget.tryAcquire('a', T0 + 60_000)).toEqual({ granted: true });
      expect(await budget.tryAcquire('a', T0 + 60_001)).toEqual({ granted: true });
      expect(await budget.tryAcquire('a', T0 + 60_002)).toEqual({ granted: false, retryAt: T0 + 3_600_000 });
    });

    it('grants exactly the limit among 40 concurrent callers, per corp and window', async () => {
      const budget = await make([
        { seconds: 60, limit: 25 },
        { seconds: 3600, limit: 1000 },
      ]);
      const decisions = await race(40, (i) => budget.tryAcquire('corp-a', T0 + i));
      expect(decisions.filter((d) => d.granted)).toHaveLength(25);
      expect(decisions.find((d) => !d.granted)).toEqual({ granted: false, retryAt: T0 + 60_000 });
      expect((await budget.tryAcquire('corp-b', T0)).granted).toBe(true);
      expect((await budget.tryAcquire('corp-a', T0 + 60_000)).granted).toBe(true);
    });

    it('a refusal consumes nothing: the minute is given back when the hour is spent', async () => {
      const budget = await make([
        { seconds: 60, limit: 2 },
        { seconds: 3600, limit: 1 },
      ]);
      expect((await budget.tryAcquire('c', T0)).granted).toBe(true);
      expect(await budget.tryAcquire('c', T0 + 1)).toEqual({ granted: false, retryAt: T0 + 3_600_000 });
      expect(await budget.tryAcquire('c', T0 + 2)).toEqual({ granted: false, retryAt: T0 + 3_600_000 });
      // The refused calls took nothing from the minute: a new hour grants again, and its minute has both calls.
      expect((await budget.tryAcquire('c', T0 + 3_600_000)).granted).toBe(true);
      const wide = await make([
        { seconds: 60, limit: 2 },
        { seconds: 3600, limit: 2 },
      ]);
      expect((await wide.tryAcquire('d', T0)).granted).toBe(true);
      expect((await wide.tryAcquire('d', T0 + 1)).granted).toBe(true);
      expect((await wide.tryAcquire('d', T0 + 2)).granted).toBe(false);
    });

    it('a 45009 spends the rest of the corp minute: the whole corp backs off until it ends', async () => {
      const budget = await make([
        { seconds: 60, limit: 100 },
        { seconds: 3600, limit: 1000 },
      ]);
      expect((await budget.tryAcquire('e', T0 + 1000)).granted).toBe(true);
      await budget.exhaust('e', T0 + 5000);
      expect(await budget.tryAcquire('e', T0 + 5001)).toEqual({ granted: false, retryAt: T0 + 60_000 });
      // Another corp is untouched; a fresh corp's counter is spent too.
      expect((await budget.tryAcquire('f', T0 + 5001)).granted).toBe(true);
      await budget.exhaust('g', T0 + 5000);
      expect((await budget.tryAcquire('g', T0 + 5001)).granted).toBe(false);
      expect((await budget.tryAcquire('e', T0 + 60_000)).granted).toBe(true);
    });
  });
}
