import { describe, expect, it } from 'vitest';
import { retryTime, windowEnd } from '../../lib/budget/port.js';
import { simulateCapacity } from '../../lib/budget/simulation.js';

const T0 = Date.parse('2026-11-25T10:00:00Z');

// What every budget adapter must do is in test/contract/callBudget.contract.test.ts.
describe('the call budget', () => {
  it('spreads the resumption over the next window, never before its end', () => {
    const retryAt = windowEnd({ seconds: 60, limit: 1 }, T0);
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

  it('never lets a corp exceed its budget per minute or per hour, and finishes every task without a 45009', async () => {
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
