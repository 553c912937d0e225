/**
 * Prints the figures the fault tests wrote (`npm run test:faults` runs the tests, then this).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type FaultFigures, REPORT_DIR } from './report.js';

const files = (await readdir(REPORT_DIR).catch(() => [])).filter((file) => file.endsWith('.json')).sort();
if (files.length === 0) {
  process.stderr.write('no figures: run the fault tests first (npm run test:faults)\n');
  process.exit(1);
}
const rows = await Promise.all(
  files.map(async (file) => JSON.parse(await readFile(join(REPORT_DIR, file), 'utf8')) as FaultFigures),
);
const header = ['scenario', 'tasks', 'faults injected', 'terminal', 'duplicated', 'lost', 'notes'];
const lines = [header, header.map(() => '---')].concat(
  rows.map((row) =>
    [row.scenario, row.tasks, row.faultsInjected, row.terminal, row.duplicated, row.lost, row.notes].map(String),
  ),
);
process.stdout.write(`${lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n')}\n`);
const lost = rows.reduce((sum, row) => sum + row.lost, 0);
const duplicated = rows.reduce((sum, row) => sum + row.duplicated, 0);
process.stdout.write(`\ntasks lost: ${lost}, completions duplicated: ${duplicated}\n`);
