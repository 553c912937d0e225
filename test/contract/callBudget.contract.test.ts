/**
 * The call budget port's contract, on every adapter: in memory, the durable SQLite budget, and
 * DynamoDB (moto_server). Sliding windows per corp (no span of a window's length, wherever it starts,
 * holds more than its limit), all windows or none, and WeCom's 45009 told from our own budget.
 */
import { describe, expect, it } from 'vitest';
import { DynamoCallBudget } from '../../lib/budget/dynamoBudget.js';
import { MemoryCallBudget } from '../../lib/budget/memoryBudget.js';
import type { BudgetDecision, BudgetWindow, CallBudget } from '../../lib/budget/port.js';
import { SqliteCallBudget } from '../../lib/budget/sqliteBudget.js';
import { createTasksTable, dynamoClient } from '../support/moto.js';
import { type AdapterKind, AWS, busiestSpan, MEMORY, race, SQLITE, tempDatabase } from './adapters.js';

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
    it('grants up to the limit of every window, then refuses until the first calls have slid out; corps are apart', async () => {
      const budget = await make([
        { seconds: 60, limit: 3 },
        { seconds: 3600, limit: 5 },
      ]);
      for (let i = 0; i < 3; i++) expect(await budget.tryAcquire('a', T0 + i)).toEqual({ granted: true });
      expect(await budget.tryAcquire('a', T0 + 10)).toEqual({ granted: false, retryAt: T0 + 61_000, reason: 'budget' });
      expect(await budget.tryAcquire('b', T0 + 10)).toEqual({ granted: true });
      // Sliding, not fixed: a minute later the three calls are still within 60 s of a call made now.
      expect((await budget.tryAcquire('a', T0 + 60_000)).granted).toBe(false);
      // Once they have left: two more, then the hour is spent until its first call leaves it.
      expect(await budget.tryAcquire('a', T0 + 61_000)).toEqual({ granted: true });
      expect(await budget.tryAcquire('a', T0 + 61_001)).toEqual({ granted: true });
      expect(await budget.tryAcquire('a', T0 + 61_002)).toEqual({
        granted: false,
        retryAt: T0 + 3_660_000,
        reason: 'budget',
      });
    });

    it('grants exactly the limit among 40 concurrent callers, per corp and window', async () => {
      const windows = [
        { seconds: 60, limit: 25 },
        { seconds: 3600, limit: 1000 },
      ];
      const budget = await make(windows);
      // On DynamoDB each caller is its own container, with its own view of the counters.
      const caller = () =>
        budget instanceof DynamoCallBudget ? new DynamoCallBudget(dynamoClient(), budget.tableName, windows) : budget;
      const decisions = await race(40, (i) => caller().tryAcquire('corp-a', T0 + i));
      expect(decisions.filter((d) => d.granted)).toHaveLength(25);
      expect(decisions.find((d) => !d.granted)).toEqual({ granted: false, retryAt: T0 + 61_000, reason: 'budget' });
      expect((await budget.tryAcquire('corp-b', T0)).granted).toBe(true);
      expect((await budget.tryAcquire('corp-a', T0 + 60_000)).granted).toBe(false);
      expect((await budget.tryAcquire('corp-a', T0 + 61_000)).granted).toBe(true);
    });

    it('a refusal consumes nothing: the minute is given back when the hour is spent', async () => {
      const budget = await make([
        { seconds: 60, limit: 2 },
        { seconds: 3600, limit: 1 },
      ]);
      expect((await budget.tryAcquire('c', T0)).granted).toBe(true);
      expect(await budget.tryAcquire('c', T0 + 1)).toEqual({
        granted: false,
        retryAt: T0 + 3_660_000,
        reason: 'budget',
      });
      expect(await budget.tryAcquire('c', T0 + 2)).toEqual({
        granted: false,
        retryAt: T0 + 3_660_000,
        reason: 'budget',
      });
      // The refused calls took nothing from the minute: once the hour's first call has left, the minute still has room.
      expect((await budget.tryAcquire('c', T0 + 3_660_000)).granted).toBe(true);
      const wide = await make([
        { seconds: 60, limit: 2 },
        { seconds: 3600, limit: 2 },
      ]);
      expect((await wide.tryAcquire('d', T0)).granted).toBe(true);
      expect((await wide.tryAcquire('d', T0 + 1)).granted).toBe(true);
      expect((await wide.tryAcquire('d', T0 + 2)).granted).toBe(false);
    });

    it('a 45009 blocks the corp for a minute, and a refusal then says WeCom rate-limited it, not that our budget is spent', async () => {
      const budget = await make([
        { seconds: 60, limit: 100 },
        { seconds: 3600, limit: 1000 },
      ]);
      expect((await budget.tryAcquire('e', T0 + 1000)).granted).toBe(true);
      await budget.exhaust('e', T0 + 5000);
      expect(await budget.tryAcquire('e', T0 + 5001)).toEqual({
        granted: false,
        retryAt: T0 + 65_000,
        reason: 'rate_limited',
      });
      // Another corp is untouched; a fresh corp is blocked too.
      expect((await budget.tryAcquire('f', T0 + 5001)).granted).toBe(true);
      await budget.exhaust('g', T0 + 5000);
      expect(await budget.tryAcquire('g', T0 + 5001)).toMatchObject({ granted: false, reason: 'rate_limited' });
      expect((await budget.tryAcquire('e', T0 + 65_000)).granted).toBe(true);
    });

    it('a second 45009 never shortens a longer block', async () => {
      const budget = await make([
        { seconds: 60, limit: 100 },
        { seconds: 3600, limit: 1000 },
      ]);
      await budget.exhaust('k', T0 + 30_000);
      await budget.exhaust('k', T0 + 1000);
      expect(await budget.tryAcquire('k', T0 + 61_001)).toEqual({
        granted: false,
        retryAt: T0 + 90_000,
        reason: 'rate_limited',
      });
      expect((await budget.tryAcquire('k', T0 + 90_000)).granted).toBe(true);
    });

    // Issue 13: with fixed windows, the budget's calls just before a minute boundary and as many just
    // after it made twice the limit within one second.
    it('a burst just before a minute boundary and one just after: never more than the limit in any 60 s, wherever the boundary falls', async () => {
      for (const offset of [0, 999]) {
        const budget = await make([
          { seconds: 60, limit: 20 },
          { seconds: 3600, limit: 600 },
        ]);
        const boundary = T0 + 120_000 + offset;
        const granted: number[] = [];
        for (const at of [boundary - 500, boundary + 500]) {
          for (let i = 0; i < 25; i++) if ((await budget.tryAcquire('h', at)).granted) granted.push(at);
        }
        expect(granted).toHaveLength(20);
        expect(busiestSpan(granted, 60_000)).toBeLessThanOrEqual(20);
      }
    });

    it('holds the hour too: full minutes for 16 minutes before an hour boundary and 16 after', async () => {
      const budget = await make([
        { seconds: 60, limit: 4 },
        { seconds: 3600, limit: 30 },
      ]);
      const granted: number[] = [];
      for (let minute = -16; minute < 16; minute++) {
        const at = T0 + 3_600_000 + minute * 61_000;
        for (let i = 0; i < 5; i++) if ((await budget.tryAcquire('i', at + i)).granted) granted.push(at + i);
      }
      expect(busiestSpan(granted, 60_000)).toBeLessThanOrEqual(4);
      expect(busiestSpan(granted, 3_600_000)).toBeLessThanOrEqual(30);
      expect(granted).toHaveLength(30);
    });

    it('decides as the memory adapter does, call for call', async () => {
      const windows = [
        { seconds: 60, limit: 5 },
        { seconds: 3600, limit: 12 },
      ];
      const budget = await make(windows);
      const reference = new MemoryCallBudget(windows);
      const script = [
        0, 10, 20, 30, 40, 50, 59_999, 60_500, 61_000, 61_001, 70_000, 121_000, 130_000, 181_000, 200_000, 241_000,
        3_661_000,
      ];
      const seen: BudgetDecision[] = [];
      const expected: BudgetDecision[] = [];
      for (const at of script) {
        seen.push(await budget.tryAcquire('j', T0 + at));
        expected.push(await reference.tryAcquire('j', T0 + at));
        if (at === 70_000) {
          await budget.exhaust('j', T0 + at);
          await reference.exhaust('j', T0 + at);
        }
      }
      expect(seen).toEqual(expected);
    });
  });
}
