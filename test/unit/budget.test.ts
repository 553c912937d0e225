import { describe, expect, it } from 'vitest';
import { simulateCapacity } from '../../bench/simulation.js';
import { MemoryCallBudget } from '../../lib/budget/memoryBudget.js';
import { DEFAULT_BUDGET_WINDOWS, retryTime } from '../../lib/budget/port.js';
import { busiestSpan } from '../contract/adapters.js';

const T0 = Date.parse('2026-11-25T10:00:00Z');

// What every budget adapter must do is in test/contract/callBudget.contract.test.ts; here, the
// budget at WeCom's full scale, in memory (the contract runs the same cases scaled down on each adapter).
describe('the call budget', () => {
  // Issue 13: fixed windows let 8000 calls through just before a minute boundary and 8000 more
  // just after it: 16 000 in one second, over WeCom's 10 000 a minute.
  it('never grants more than its limit in any 60 s span, whatever the window alignment (the default budget, 10 000 calls each side of a boundary)', () => {
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
