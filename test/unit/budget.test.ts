import { describe, expect, it } from 'vitest';
import { MemoryCallBudget } from '../../lib/budget/memoryBudget.js';
import { DEFAULT_BUDGET_WINDOWS, retryTime } from '../../lib/budget/port.js';
import { simulateCapacity } from '../../lib/budget/simulation.js';

const T0 = Date.parse('2026-11-25T10:00:00Z');

/** The most calls among `times` (sorted) in any half-open span of `spanMs`, wherever it starts. */
function busiestSpan(times: number[], spanMs: number): number {
  let most = 0;
  let from = 0;
  for (let to = 0; to < times.length; to++) {
    while ((times[from] ?? 0) <= (times[to] ?? 0) - spanMs) from++;
    most = Math.max(most, to - from + 1);
  }
  return most;
}

describe('the call budget', () => {
  it('grants up to the limit, then refuses until the first calls have slid out of the window', async () => {
    const budget = new MemoryCallBudget([
      { seconds: 60, limit: 3 },
      { seconds: 3600, limit: 5 },
    ]);
    for (let i = 0; i < 3; i++) expect(await budget.tryAcquire('a', T0 + i)).toEqual({ granted: true });
    // Sliding, not fixed: a minute later the three calls are still within 60 s of a call made now.
    expect(await budget.tryAcquire('a', T0 + 10)).toEqual({ granted: false, retryAt: T0 + 61_000, reason: 'budget' });
    expect((await budget.tryAcquire('a', T0 + 60_000)).granted).toBe(false);
    // Another corp has its own budget.
    expect(await budget.tryAcquire('b', T0 + 10)).toEqual({ granted: true });
    // Once they have left: two more, then the hour is spent until its first call leaves it.
    expect(await budget.tryAcquire('a', T0 + 61_000)).toEqual({ granted: true });
    expect(await budget.tryAcquire('a', T0 + 61_001)).toEqual({ granted: true });
    expect(await budget.tryAcquire('a', T0 + 61_002)).toEqual({ granted: false, retryAt: T0 + 3_660_000, reason: 'budget' });
  });

  it('a refusal consumes nothing', async () => {
    const budget = new MemoryCallBudget([
      { seconds: 60, limit: 2 },
      { seconds: 3600, limit: 1 },
    ]);
    expect((await budget.tryAcquire('a', T0)).granted).toBe(true);
    expect((await budget.tryAcquire('a', T0)).granted).toBe(false);
    expect((await budget.tryAcquire('a', T0 + 3_660_000)).granted).toBe(true);
    // The refused call took nothing from the minute: the minute grants its second call only now.
    expect((await budget.tryAcquire('a', T0 + 3_660_001)).granted).toBe(false);
  });

  it('a 45009 blocks the corp for a minute, and says so: WeCom’s rate limit, not our budget', async () => {
    const budget = new MemoryCallBudget([{ seconds: 60, limit: 100 }]);
    await budget.exhaust('a', T0 + 5000);
    expect(await budget.tryAcquire('a', T0 + 5001)).toEqual({ granted: false, retryAt: T0 + 65_000, reason: 'rate_limited' });
    expect((await budget.tryAcquire('a', T0 + 65_000)).granted).toBe(true);
  });

  // Issue 13: fixed windows let 8000 calls through just before a minute boundary and 8000 more
  // just after it: 16 000 in one second, over WeCom's 10 000 a minute.
  it('never grants more than its limit in any 60 s or 3600 s span, whatever the window alignment', () => {
    for (const offset of [0, 1, 499, 500, 999, 59_500, 37_123]) {
      const budget = new MemoryCallBudget(DEFAULT_BUDGET_WINDOWS);
      const boundary = T0 + 120_000 + offset;
      const granted: number[] = [];
      const burst = (at: number, calls: number) => {
        for (let i = 0; i < calls; i++) if (budget.tryAcquireNow('a', at).granted) granted.push(at);
      };
      burst(boundary - 500, 10_000);
      burst(boundary + 500, 10_000);
      expect(granted).toHaveLength(8000);
      expect(busiestSpan(granted, 60_000), `offset ${offset}`).toBeLessThanOrEqual(8000);
    }
  });

  it('holds the hour too: 15 full minutes before an hour boundary and 15 after (the defaults scaled by 1/100)', () => {
    const budget = new MemoryCallBudget([
      { seconds: 60, limit: 80 },
      { seconds: 3600, limit: 1200 },
    ]);
    const boundary = T0 + 3_600_000;
    const granted: number[] = [];
    for (let minute = -16; minute < 16; minute++) {
      const at = boundary + minute * 61_000;
      for (let i = 0; i < 100; i++) if (budget.tryAcquireNow('a', at + i).granted) granted.push(at + i);
    }
    expect(busiestSpan(granted, 60_000)).toBeLessThanOrEqual(80);
    expect(busiestSpan(granted, 3_600_000)).toBeLessThanOrEqual(1200);
    expect(granted).toHaveLength(1200);
  });

  it('spreads the resumption over the next window, never before its end', () => {
    const retryAt = T0 + 61_000;
    const times = [0, 0.25, 0.5, 0.999].map((r) => retryTime({ retryAt }, 20_000, r));
    expect(times[0]).toBe(retryAt);
    expect(Math.max(...times) - retryAt).toBeLessThan(20_000);
    expect(new Set(times).size).toBe(4);
  });
});

describe('capacity simulation (virtual clock, the real submit and poll code)', () => {
  const load = {
    corps: [
      { corpId: 'corp-a', tasks: 800 },
      { corpId: 'corp-b', tasks: 100 },
    ],
    minJobSeconds: 5,
    maxJobSeconds: 3 * 3600,
    // A small WeCom, so the budget binds: 400 / min and 6000 / h, budget at 80 %.
    zoneLimits: [
      { seconds: 60, limit: 400 },
      { seconds: 3600, limit: 6000 },
    ],
    budgetWindows: [
      { seconds: 60, limit: 320 },
      { seconds: 3600, limit: 4800 },
    ],
  };

  it('never lets a corp exceed its budget in any 60 s or 3600 s span, and finishes every task without a 45009', async () => {
    const reports = await simulateCapacity(load);
    for (const report of reports) {
      expect(report.maxCallsPerMinute).toBeLessThanOrEqual(320);
      expect(report.maxCallsPerHour).toBeLessThanOrEqual(4800);
      expect(report.rateLimited).toBe(0);
      expect(report.finished).toBe(report.tasks);
    }
    // The budget did bind (the test exercises the refusals), and the big corp did not starve the small one.
    const [a, b] = reports;
    expect(a?.budgetWaits).toBeGreaterThan(0);
    expect(b?.detectionDelay.p50 ?? Infinity).toBeLessThanOrEqual((a?.detectionDelay.p50 ?? 0) * 2);
  });

  it('without the budget, the same fleet runs into WeCom’s limit (what the test guards against)', async () => {
    const reports = await simulateCapacity({ ...load, budgetWindows: [] });
    expect(reports[0]?.maxCallsPerMinute).toBeGreaterThan(400);
    expect(reports[0]?.rateLimited).toBeGreaterThan(0);
  });
});
