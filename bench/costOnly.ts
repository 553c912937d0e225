/** `npx tsx bench/costOnly.ts`: row 8 alone (about a minute), for working on the cost model. */
import { measureCost } from './cost.js';
import { formatRatio, markdownTable } from './stats.js';

const { rows } = await measureCost();
process.stdout.write(
  `${markdownTable(
    ['row', 'ours', 'baseline', 'ratio', 'goal', 'met?'],
    rows.map((row) => [row.row, row.ours, row.baseline, formatRatio(row.ratio), row.goal, String(row.met)]),
  )}\n`,
);
for (const row of rows) process.stderr.write(`${row.row}: ${JSON.stringify(row.detail.usage ?? row.detail)}\n`);
