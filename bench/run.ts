/**
 * `npm run bench`: every figure beside a baseline measured in the same run, and their ratio. This
 * machine is shared and noisy, so ratios are what to read; absolute times are context.
 *
 * Prints one table (row, ours, baseline, ratio, goal, met?) and the polling frontier, and writes
 * `.bench/results.json` (every raw number) and `.bench/results.md` (the tables with the date and
 * machine, ready for docs/performance.md). Timing goals are reported, never asserted: the exit code is 0
 * whenever every row could be measured.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, machine, platform, release } from 'node:os';
import { join } from 'node:path';
import { onStopSignal } from '../lib/shared/signals.js';
import { BENCH_DIR, measureBundles, stopChildren } from './bundles.js';
import { measureCapacity } from './capacity.js';
import { measureCreateHandler } from './createHandler.js';
import { measureLocalThroughput } from './localThroughput.js';
import { perDurationMarkdown, runPollingSimulation } from './polling.js';
import { measureRendering } from './render.js';
import { type BenchRow, elapsedMs, formatRatio, markdownTable } from './stats.js';

function progress(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function metCell(met: boolean | null): string {
  if (met === null) return '—';
  return met ? 'yes' : '**no**';
}

function machineDescription() {
  return {
    cores: availableParallelism(),
    node: process.version,
    arch: machine(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    os: `${platform()} ${release()}`,
  };
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  const startedAt = new Date();
  const rows: BenchRow[] = [];

  // Rows run one after another, never concurrently: on two cores they would time each other.
  progress('rows 1–2: building the bundles and importing each in fresh processes (about 30 s)');
  rows.push(...(await measureBundles()));
  progress('row 3: create handler on a 1000-message request');
  rows.push(await measureCreateHandler());
  progress('row 4: rendering and escaping 1000 messages');
  rows.push(...(await measureRendering()));
  progress('row 5: polling simulation on a virtual clock');
  const polling = runPollingSimulation();
  rows.push(...polling.rows);
  progress('row 6: local end-to-end throughput: durable store, in memory, bare node:http');
  rows.push(await measureLocalThroughput());
  progress('row 7: 11 000 tasks of two corps inside WeCom rate limits (virtual clock)');
  rows.push(...(await measureCapacity()));

  const runSeconds = elapsedMs(started) / 1000;
  const machineInfo = machineDescription();
  const table = markdownTable(
    ['row', 'ours', 'baseline', 'ratio', 'goal', 'met?'],
    rows.map((row) => [row.row, row.ours, row.baseline, formatRatio(row.ratio), row.goal, metCell(row.met)]),
  );
  const frontierTitle = 'Polling frontier (polls / worst detection delay, worst over jitter; † = beyond maxAttempts)';
  const when = `${startedAt.toISOString().slice(0, 10)}, ${machineInfo.cores} cores (${machineInfo.cpu}), node ${machineInfo.node}, ${machineInfo.arch}`;

  process.stdout.write(
    `\n${table}\n\n${frontierTitle}\n\n${polling.frontierMarkdown}\n\n${when}; run took ${runSeconds.toFixed(0)} s\n`,
  );

  await mkdir(BENCH_DIR, { recursive: true });
  await writeFile(
    join(BENCH_DIR, 'results.json'),
    `${JSON.stringify(
      {
        generatedAt: startedAt.toISOString(),
        machine: machineInfo,
        runSeconds,
        rows,
        polling: { frontierMarkdown: polling.frontierMarkdown, ...polling.detail },
      },
      null,
      2,
    )}\n`,
  );
  await writeFile(
    join(BENCH_DIR, 'results.md'),
    [
      `Measured ${when} (\`npm run bench\`, ${runSeconds.toFixed(0)} s).`,
      '',
      table,
      '',
      `${frontierTitle}:`,
      '',
      polling.frontierMarkdown,
      '',
      'Polls and worst detection delay per job duration:',
      '',
      perDurationMarkdown(polling.detail.perDuration),
      '',
    ].join('\n'),
  );
  progress(`wrote ${join(BENCH_DIR, 'results.json')} and results.md`);
}

// Ctrl-C or SIGTERM mid-run: the import probes in flight are killed, and the run ends at once (130 / 143).
onStopSignal(() => stopChildren.abort(), { graceMs: 2000, exitCode: (signal) => (signal === 'SIGTERM' ? 143 : 130) });
await main();
