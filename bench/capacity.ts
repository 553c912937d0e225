/**
 * Row 7: ten thousand tasks at once, inside WeCom's rate limits. A virtual-clock simulation
 * (`bench/simulation.ts`: the real submit and poll code, no sleeping) of 10 000 tasks for one
 * corp and 1 000 for a second, job durations log-uniform from 5 s to 4 h, with the default budget
 * (80 % of 10 000 / min and 150 000 / h) beside the same fleet without a budget.
 */

import { DEFAULT_BUDGET_WINDOWS } from '../lib/budget/port.js';
import { type CorpReport, simulateCapacity } from './simulation.js';
import type { BenchRow } from './stats.js';

const LOAD = {
  corps: [
    { corpId: 'corp-a', tasks: 10_000 },
    { corpId: 'corp-b', tasks: 1_000 },
  ],
  minJobSeconds: 5,
  maxJobSeconds: 4 * 3600,
};

function describe(report: CorpReport): string {
  const d = report.detectionDelay;
  return (
    `${report.finished}/${report.tasks} done in ${(report.drainSeconds / 3600).toFixed(2)} h; ` +
    `max ${report.maxCallsPerMinute}/min, ${report.maxCallsPerHour}/h; ${report.rateLimited} × 45009; ` +
    `delay p50 ${d.p50.toFixed(0)} s, p90 ${d.p90.toFixed(0)} s, p99 ${d.p99.toFixed(0)} s`
  );
}

export async function measureCapacity(): Promise<BenchRow[]> {
  const [budgeted, naive] = [await simulateCapacity(LOAD), await simulateCapacity({ ...LOAD, budgetWindows: [] })];
  const [perMinute, perHour] = DEFAULT_BUDGET_WINDOWS.map((window) => window.limit);
  return budgeted.map((report, index) => {
    const baseline = naive[index] as CorpReport;
    const withinBudget =
      report.maxCallsPerMinute <= (perMinute ?? 0) &&
      report.maxCallsPerHour <= (perHour ?? 0) &&
      report.finished === report.tasks &&
      report.rateLimited === 0;
    return {
      row: `7. ${report.tasks} tasks of ${report.corpId} (burst, 5 s–4 h jobs)`,
      ours: describe(report),
      baseline: `no budget: ${describe(baseline)}`,
      ratio: baseline.maxCallsPerMinute > 0 ? report.maxCallsPerMinute / baseline.maxCallsPerMinute : null,
      goal: `≤ ${perMinute}/min and ≤ ${perHour}/h per corp, every task done, no 45009`,
      met: withinBudget,
      detail: { budgeted: report, naive: baseline },
    };
  });
}
