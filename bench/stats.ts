/**
 * Timing and summary helpers shared by the benchmark rows. Plain `process.hrtime.bigint()` loops:
 * no benchmark library, so what is measured is exactly the call and nothing the harness adds.
 */

/** One row of the `npm run bench` table. */
export interface BenchRow {
  /** e.g. `1. bundle bytes: createTask` */
  row: string;
  /** Our figure, formatted for the table. */
  ours: string;
  /** The baseline measured in the same run, formatted. */
  baseline: string;
  /** ours ÷ baseline, oriented so that above 1 means ours costs more; null when not meaningful. */
  ratio: number | null;
  goal: string;
  /** null: reported only (no goal). */
  met: boolean | null;
  /** The raw numbers behind the row, for `.bench/results.json`. */
  detail: Record<string, unknown>;
}

export interface Summary {
  count: number;
  min: number;
  median: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(ascending: readonly number[], p: number): number {
  if (ascending.length === 0) throw new RangeError('percentile of no samples');
  const rank = Math.ceil((p / 100) * ascending.length);
  return ascending[Math.min(ascending.length, Math.max(1, rank)) - 1] as number;
}

/** The median as usual: the mean of the two middle samples of an even count. */
export function median(values: readonly number[]): number {
  const ascending = [...values].sort((a, b) => a - b);
  const middle = ascending.length >> 1;
  if (ascending.length === 0) throw new RangeError('median of no samples');
  return ascending.length % 2 === 1
    ? (ascending[middle] as number)
    : ((ascending[middle - 1] as number) + (ascending[middle] as number)) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  const ascending = [...samples].sort((a, b) => a - b);
  return {
    count: ascending.length,
    min: ascending[0] as number,
    median: median(ascending),
    p99: percentile(ascending, 99),
    max: ascending[ascending.length - 1] as number,
  };
}

/** Keeps results observable so V8 cannot drop a measured call as dead code. */
export const sink = { value: 0 };

export function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Time each case once per round, alternating the cases inside every round, so a noisy neighbour
 * on this shared machine slows all cases alike instead of whichever ran during the disturbance.
 * Returns milliseconds per call, per case.
 */
export async function timeInterleaved<Name extends string>(
  cases: Record<Name, () => unknown>,
  options: { warmupRounds: number; rounds: number },
): Promise<Record<Name, number[]>> {
  const names = Object.keys(cases) as Name[];
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Name, number[]>;
  for (let round = 0; round < options.warmupRounds + options.rounds; round++) {
    const measured = round >= options.warmupRounds;
    // Rotate the order too: the case after a GC-heavy one should not always be the same.
    for (let offset = 0; offset < names.length; offset++) {
      const name = names[(round + offset) % names.length] as Name;
      const run = cases[name];
      const start = process.hrtime.bigint();
      const result = run();
      // Only async cases pay for an await; a sync baseline is timed without a microtask hop.
      if (result instanceof Promise) await result;
      const ms = elapsedMs(start);
      if (measured) samples[name].push(ms);
    }
  }
  return samples;
}

export function formatMs(ms: number): string {
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${(ms * 1000).toFixed(0)} µs`;
}

export function formatBytes(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Number(seconds.toFixed(1))} s`;
  if (seconds < 3600) return `${Number((seconds / 60).toFixed(1))} min`;
  return `${Number((seconds / 3600).toFixed(2))} h`;
}

export function formatRatio(ratio: number | null): string {
  return ratio === null ? '—' : `${ratio.toFixed(2)}×`;
}

/** A markdown table: what the terminal shows is what docs/performance.md pastes. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const escapeCell = (cell: string) => cell.replaceAll('|', '\\|');
  const lines = [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.map(escapeCell).join(' | ')} |`);
  return lines.join('\n');
}

/** Deterministic PRNG: benchmark inputs are the same in every run. */
export { seededRandom } from './random.js';
