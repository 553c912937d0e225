/**
 * Figures from the fault tests, written to `.faults/<name>.json` and printed as one table by
 * `npm run test:faults` (test/faults/printReport.ts). docs/reliability.md quotes them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const REPORT_DIR = resolve(import.meta.dirname, '../../.faults');

export interface FaultFigures {
  scenario: string;
  /** Tasks the clients asked for. */
  tasks: number;
  /** Faults injected (zone errors, crashes, failed sends, duplicate deliveries...). */
  faultsInjected: number;
  /** Tasks that reached a terminal state. */
  terminal: number;
  /** Completions written beyond one per task. */
  duplicated: number;
  /** Tasks missing or never finished. */
  lost: number;
  /** Free-form: zone calls, polls, bad inputs tried... */
  notes: string;
}

export async function recordFigures(name: string, figures: FaultFigures): Promise<void> {
  await mkdir(REPORT_DIR, { recursive: true });
  await writeFile(
    join(REPORT_DIR, `${name}.json`),
    `${JSON.stringify({ ...figures, at: new Date().toISOString() }, null, 2)}\n`,
  );
}
