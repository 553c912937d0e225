/**
 * A few hundred tasks through the local stack against an emulator that enforces a per-window limit
 * the way WeCom does (45009 past it): with the budget configured below the limit, no 45009 at all.
 */
import { describe, expect, it } from 'vitest';
import { MemoryCallBudget } from '../../lib/budget/memoryBudget.js';
import { startLocalStack } from '../../lib/local/stack.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { DOC_EXAMPLE_REQUEST, recordingLogger } from '../support/fixtures.js';
import { recordFigures } from './report.js';
import { settle, submitWithRetries } from './support.js';

// WeCom's minute, shrunk to 2 s so the run takes seconds: 60 calls per window, budget 48 (80 %).
const WINDOW = { windowSeconds: 2, limit: 60 };
const FAST = { firstDelaySeconds: 0, minWaitSeconds: 1, growth: 0, maxWaitSeconds: 2, leaseSeconds: 2 };

async function run(tasks: number, budget: MemoryCallBudget | undefined) {
  const zone = new ZoneEmulator({
    archive: SAMPLE_ARCHIVE,
    programs: samplePrograms(0),
    faults: { rateLimit: WINDOW },
  });
  const stack = await startLocalStack({
    zone,
    logger: recordingLogger(),
    schedule: FAST,
    pollConcurrency: 4,
    env: { BUDGET_PER_MINUTE: '0', BUDGET_PER_HOUR: '0', BUDGET_SPREAD_SECONDS: '1' },
    budget,
  });
  try {
    const submitted = await Promise.all(
      Array.from({ length: tasks }, () => submitWithRetries(stack.url, DOC_EXAMPLE_REQUEST, 200)),
    );
    const tally = await settle(
      stack.store,
      submitted.map((s) => s.jobid),
      90_000,
    );
    return { zone, tally };
  } finally {
    await stack.stop();
  }
}

describe('rate limits, end to end', () => {
  it('200 tasks with the budget below the zone limit: zero 45009 answers, every task finishes', async () => {
    const tasks = 200;
    const { zone, tally } = await run(tasks, new MemoryCallBudget([{ seconds: WINDOW.windowSeconds, limit: 48 }]));
    await recordFigures('7-rate-limit', {
      scenario: `zone limit ${WINDOW.limit} calls / ${WINDOW.windowSeconds} s (45009 past it), budget 48 / ${WINDOW.windowSeconds} s`,
      tasks,
      faultsInjected: zone.rateLimited,
      terminal: tally.terminal,
      duplicated: 0,
      lost: tally.lost,
      notes: `${zone.rateLimited} answers 45009; ${(zone.calls.create_program_task ?? 0) + (zone.calls.get_program_task_result ?? 0)} zone calls`,
    });
    expect(zone.rateLimited).toBe(0);
    expect(tally).toMatchObject({ terminal: tasks, succeeded: tasks, lost: 0 });
  }, 120_000);
});
