/**
 * `npm run bench:soak`: does `npm start` stay flat as work accumulates? Runs the real `npm start`
 * (its own process tree, a fresh data directory, loopback only), pushes `--tasks` tasks (default
 * 100 000) through it from `--clients` closed-loop clients (default 32: POST with an
 * Idempotency-Key, then GET until the task has ended), and samples the server's resident memory
 * (VmRSS of its node process, from /proc) every few seconds. Bounded: it stops at the task count or
 * after `--minutes` (default 30), whichever comes first, and always stops the server.
 *
 *   npm run bench:soak                          # 100 000 tasks on the durable store
 *   npm run bench:soak -- --tasks 60000 --memory    # the same on DATA_DIR=:memory:, for comparison
 *
 * Settings for the run, all documented ones: the embedded emulator with zero-latency programs and
 * `ZONE_RETENTION_SECONDS=60` (so it forgets jobs as it would after its 24 h retention, inside the
 * run), zero poll waits, and the call budget off (it would cap the run at 8 000 zone calls a
 * minute: this measures memory, not WeCom's limits). Prints a table and writes `.bench/soak.json`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DOC_EXAMPLE_REQUEST } from '../lib/protocol/examples.js';
import { onStopSignal } from '../lib/shared/signals.js';
import { BENCH_DIR } from './bundles.js';

const ROOT = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    tasks: { type: 'string', default: '100000' },
    clients: { type: 'string', default: '32' },
    minutes: { type: 'string', default: '30' },
    memory: { type: 'boolean', default: false },
  },
});
const TASKS = Number(args.tasks);
const CLIENTS = Number(args.clients);
const DEADLINE = Date.now() + Number(args.minutes) * 60_000;
const SAMPLE_EVERY_MS = 2000;
const BODY = JSON.stringify(DOC_EXAMPLE_REQUEST);

function log(message: string): void {
  process.stderr.write(`soak: ${message}\n`);
}

/** Resident set size of a process, in MB (Linux /proc). */
function rssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN; // the server is gone: the clients will say why
  }
}

/** The pids below `root` in the process tree. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(root);
  return found;
}

/** The node process that runs the server: the one of the tree whose command line is start.ts under the tsx loader. */
function serverPid(root: number): number {
  for (const pid of descendants(root)) {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (cmdline.includes('lib/local/start.ts') && cmdline.some((arg) => arg.includes('tsx/dist/loader'))) return pid;
  }
  throw new Error('the server process of npm start was not found');
}

interface Server {
  child: ChildProcess;
  url: string;
  exited: Promise<unknown>;
  stderr(): string;
}

async function startServer(dataDir: string): Promise<Server> {
  const child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: args.memory ? ':memory:' : dataDir,
      ZONE_PROGRAM_LATENCY_MS: '0',
      ZONE_RETENTION_SECONDS: '60',
      POLL_FIRST_DELAY_SECONDS: '0',
      POLL_MIN_WAIT_SECONDS: '0',
      POLL_GROWTH: '0',
      BUDGET_PER_MINUTE: '0',
      BUDGET_PER_HOUR: '0',
      POWERTOOLS_LOG_LEVEL: 'WARN',
    },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr = (stderr + String(chunk)).slice(-20_000);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (let i = 0; i < 300; i++) {
    const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
    if (url) return { child, url, exited, stderr: () => stderr };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`npm start did not start: ${stderr}`);
}

async function runTask(url: string, key: string): Promise<string> {
  const created = await fetch(`${url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: BODY,
  });
  if (created.status !== 202) throw new Error(`POST /tasks answered ${created.status}`);
  const { jobid } = (await created.json()) as { jobid: string };
  for (;;) {
    const { status } = (await (await fetch(`${url}/tasks/${jobid}`)).json()) as { status: string };
    if (status !== 'PENDING') return status;
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Sample {
  seconds: number;
  tasks: number;
  rssMb: number;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'wzt-soak-'));
  const server = await startServer(dataDir);
  const { child, url } = server;
  // Ctrl-C or SIGTERM mid-run: the server (its own process group) stops with the run, then 130 / 143.
  let stopping = false;
  onStopSignal(
    async () => {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) process.kill(-(child.pid ?? 0), 'SIGTERM');
      await server.exited;
      await rm(dataDir, { recursive: true, force: true });
    },
    { graceMs: 8000, exitCode: (signal) => (signal === 'SIGTERM' ? 143 : 130) },
  );
  const pid = serverPid(child.pid ?? 0);
  const started = Date.now();
  const samples: Sample[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  let done = 0;
  const sample = () => samples.push({ seconds: (Date.now() - started) / 1000, tasks: done, rssMb: rssMb(pid) });
  sample();
  const sampler = setInterval(() => {
    sample();
    const last = samples.at(-1);
    log(`${last?.tasks} tasks, server RSS ${last?.rssMb.toFixed(0)} MB`);
  }, SAMPLE_EVERY_MS);
  try {
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < TASKS && Date.now() < DEADLINE) {
          const index = next++;
          const status = await runTask(url, `soak-${index}`);
          statuses[status] = (statuses[status] ?? 0) + 1;
          done += 1;
        }
      }),
    );
    sample();
  } catch (error) {
    // Stopped by a signal: the requests in flight fail as the server goes, which is no failure of the
    // run; the stop handler ends the process with 130 / 143 once the server is gone.
    if (stopping) await new Promise(() => undefined);
    log(`failed after ${done} tasks: ${(error as Error).message}; the server said:\n${server.stderr()}`);
    throw error;
  } finally {
    clearInterval(sampler);
    if (child.exitCode === null && child.signalCode === null) process.kill(-(child.pid ?? 0), 'SIGTERM');
    await server.exited;
    await rm(dataDir, { recursive: true, force: true });
  }

  const seconds = (Date.now() - started) / 1000;
  // After the first 5 % of the tasks (module loading, caches, JIT), memory should stay where it is.
  const warm = samples.find((s) => s.tasks >= done * 0.05) ?? samples[0];
  const after = samples.filter((s) => s.tasks >= (warm?.tasks ?? 0));
  const maxAfterWarm = Math.max(...after.map((s) => s.rssMb));
  const last = samples.at(-1);
  const growthPer1000 =
    warm && last && last.tasks > warm.tasks ? ((last.rssMb - warm.rssMb) / (last.tasks - warm.tasks)) * 1000 : 0;
  const at = (fraction: number) => samples.find((s) => s.tasks >= done * fraction);
  const half = at(0.5);
  // The second half: whatever steady state the server reaches, it should stay there.
  const secondHalfPer1000 =
    half && last && last.tasks > half.tasks ? ((last.rssMb - half.rssMb) / (last.tasks - half.tasks)) * 1000 : 0;
  const rows = [0.05, 0.25, 0.5, 0.75, 1].map((fraction) => at(fraction)).filter((s): s is Sample => s !== undefined);
  const store = args.memory ? 'in memory (DATA_DIR=:memory:)' : 'durable (SQLite)';
  const table = [
    `| tasks done | server RSS |`,
    `| ---: | ---: |`,
    `| 0 (started) | ${samples[0]?.rssMb.toFixed(0)} MB |`,
    ...rows.map((s) => `| ${s.tasks} | ${s.rssMb.toFixed(0)} MB |`),
  ].join('\n');
  const summary =
    `${done} tasks through npm start, ${store}, ${CLIENTS} clients, in ${seconds.toFixed(0)} s (${(done / seconds).toFixed(0)} tasks/s); ` +
    `statuses ${JSON.stringify(statuses)}; server RSS ${samples[0]?.rssMb.toFixed(0)} MB at start, ${warm?.rssMb.toFixed(0)} MB after ${warm?.tasks} tasks, ` +
    `max ${maxAfterWarm.toFixed(0)} MB after that, ${last?.rssMb.toFixed(0)} MB at the end: ${growthPer1000.toFixed(2)} MB per 1000 tasks after warm-up, ` +
    `${secondHalfPer1000.toFixed(2)} MB per 1000 tasks over the second half`;
  process.stdout.write(`\n${table}\n\n${summary}\n`);
  await mkdir(BENCH_DIR, { recursive: true });
  await writeFile(
    join(BENCH_DIR, args.memory ? 'soak-memory.json' : 'soak.json'),
    `${JSON.stringify({ generatedAt: new Date(started).toISOString(), node: process.version, store, tasks: done, clients: CLIENTS, seconds, statuses, samples, growthPer1000, secondHalfPer1000, summary }, null, 2)}\n`,
  );
  if (done < TASKS) log(`stopped at the ${args.minutes}-minute bound after ${done} of ${TASKS} tasks`);
}

await main();
