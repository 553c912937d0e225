/**
 * Row 6: local end-to-end throughput, tasks per second from `POST /tasks` to SUCCEEDED through the
 * local stack (`npm start`'s API server, embedded queue and store, the poller, the emulator) with a
 * zero-latency sample program and zero poll waits, on the durable store (`npm start`'s default:
 * tasks, queue, idempotency keys and budget in SQLite, every state change committed to disk) and on
 * the in-memory one. A fixed number of clients each run one task at a time: POST, then wait until
 * the task is SUCCEEDED, then the next.
 *
 * Completion is observed inside the store (a `finish` hook), not by GET polling, so the clock
 * stops when the task shows SUCCEEDED and the observer costs nothing; every task is then checked
 * over HTTP, outside the timing.
 *
 * Seven alternating rounds of each target, median kept.
 *
 * Baseline: a bare `node:http` server that reads the same POST and answers 202 with a small JSON
 * body, driven by the same clients: the most this machine can do per request, loopback only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commonConfig } from '../lib/config.js';
import { startLocalStack } from '../lib/local/stack.js';
import { openLocalState } from '../lib/local/state.js';
import { DOC_EXAMPLE_REQUEST } from '../lib/protocol/examples.js';
import { close, listen } from '../lib/shared/nodeHttp.js';
import type { ClaimResult, PollStep, RescheduleStep, TaskStore } from '../lib/tasks/port.js';
import type { NotificationFields, TaskOutcome, TaskRecord } from '../lib/tasks/task.js';
import { ZoneEmulator } from '../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../lib/zone/emulator/sample.js';
import { silentLogger } from './createHandler.js';
import { type BenchRow, elapsedMs, median } from './stats.js';

const TASKS = 300;
const WARMUP_TASKS = 300;
const CONCURRENCY = 20;
const ROUNDS = 7;
/** A task that has not finished by then means a broken flow: fail instead of hanging the benchmark. */
const TASK_TIMEOUT_MS = 30_000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The source document's own example request (WeCom doc 53659). */
const DOC_EXAMPLE_BODY = JSON.stringify(DOC_EXAMPLE_REQUEST);

/** A task store (memory or durable), telling the benchmark the moment each task reaches its final state. */
class CompletionSignallingStore implements TaskStore {
  readonly #waiting = new Map<string, (status: string) => void>();
  readonly #finished = new Map<string, string>();

  constructor(readonly inner: TaskStore) {}

  create(task: TaskRecord): Promise<void> {
    return this.inner.create(task);
  }
  get(jobid: string): Promise<TaskRecord | undefined> {
    return this.inner.get(jobid);
  }
  claimPoll(jobid: string, chain: number, now: number, leaseUntil: number): Promise<ClaimResult> {
    return this.inner.claimPoll(jobid, chain, now, leaseUntil);
  }
  releaseClaim(jobid: string, step: PollStep, nextPollAt: number): Promise<boolean> {
    return this.inner.releaseClaim(jobid, step, nextPollAt);
  }
  reschedule(jobid: string, step: RescheduleStep): Promise<boolean> {
    return this.inner.reschedule(jobid, step);
  }
  findOverdue(cutoff: number, limit: number): Promise<TaskRecord[]> {
    return this.inner.findOverdue(cutoff, limit);
  }
  resumeChain(jobid: string, seenNextPollAt: number, now: number): Promise<number | undefined> {
    return this.inner.resumeChain(jobid, seenNextPollAt, now);
  }
  recordNotification(jobid: string, fields: NotificationFields): Promise<void> {
    return this.inner.recordNotification(jobid, fields);
  }

  async finish(jobid: string, step: PollStep, outcome: TaskOutcome): Promise<boolean> {
    const written = await this.inner.finish(jobid, step, outcome);
    if (written) {
      const resolve = this.#waiting.get(jobid);
      if (resolve) {
        this.#waiting.delete(jobid);
        resolve(outcome.status);
      } else this.#finished.set(jobid, outcome.status);
    }
    return written;
  }

  /** Resolves with the final status; the task may already have finished before the POST answered. */
  finished(jobid: string): Promise<string> {
    const status = this.#finished.get(jobid);
    if (status !== undefined) {
      this.#finished.delete(jobid);
      return Promise.resolve(status);
    }
    return new Promise((resolve) => this.#waiting.set(jobid, resolve));
  }
}

interface LoadResult {
  seconds: number;
  perTaskMs: number[];
}

/** `tasks` tasks through `concurrency` clients; `runOne` is one task from first byte to done. */
async function closedLoop(tasks: number, concurrency: number, runOne: () => Promise<string>): Promise<LoadResult> {
  let started = 0;
  const perTaskMs: number[] = [];
  const start = process.hrtime.bigint();
  const client = async () => {
    while (started < tasks) {
      started += 1;
      const taskStart = process.hrtime.bigint();
      await runOne();
      perTaskMs.push(elapsedMs(taskStart));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return { seconds: elapsedMs(start) / 1000, perTaskMs };
}

async function post(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: DOC_EXAMPLE_BODY,
  });
  return { status: response.status, body: await response.text() };
}

interface Target {
  runTask(): Promise<string>;
  stop(): Promise<void>;
}

/** The local stack on the durable store (a fresh data directory, removed afterwards) or in memory. */
async function startLocalStackTarget(durable: boolean): Promise<Target> {
  const dataDir = durable ? mkdtempSync(join(tmpdir(), 'wzt-bench-')) : undefined;
  const state = openLocalState({
    dataDir,
    budgetWindows: commonConfig({}).budgetWindows,
    queue: { visibilityTimeoutSeconds: 180 },
  });
  const store = new CompletionSignallingStore(state.store);
  const stack = await startLocalStack({
    port: 0,
    store,
    queue: state.queue,
    idempotency: state.idempotency,
    budget: state.budget,
    logger: silentLogger(),
    zone: new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(0) }),
    schedule: { firstDelaySeconds: 0, minWaitSeconds: 0, growth: 0, maxWaitSeconds: 0 },
  });
  const jobids: string[] = [];
  return {
    async runTask() {
      const created = await post(stack.url);
      if (created.status !== 202) throw new Error(`POST /tasks answered ${created.status}: ${created.body}`);
      const { jobid } = JSON.parse(created.body) as { jobid: string };
      const status = await withTimeout(store.finished(jobid), TASK_TIMEOUT_MS, `task ${jobid} not finished`);
      if (status !== 'SUCCEEDED') throw new Error(`task ${jobid} ended ${status}`);
      jobids.push(jobid);
      return jobid;
    },
    async stop() {
      try {
        // What a client sees: every task SUCCEEDED over HTTP too (untimed).
        for (const jobid of jobids) {
          const view = (await (await fetch(`${stack.url}/tasks/${jobid}`)).json()) as { status: string };
          if (view.status !== 'SUCCEEDED') throw new Error(`GET /tasks/${jobid} shows ${view.status}`);
        }
      } finally {
        await stack.stop();
        state.close();
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

async function startBareServerTarget(): Promise<Target> {
  let answered = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      answered += 1;
      const text = JSON.stringify({ jobid: `bare_${answered}`, status: 'PENDING', fail_list: [] });
      response.writeHead(202, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(text),
      });
      response.end(text);
    });
  });
  const url = await listen(server, 0, '127.0.0.1');
  return {
    async runTask() {
      const created = await post(url);
      if (created.status !== 202) throw new Error(`bare server answered ${created.status}`);
      return (JSON.parse(created.body) as { jobid: string }).jobid;
    },
    stop: () => close(server),
  };
}

export async function measureLocalThroughput(): Promise<BenchRow> {
  const baselineTarget = await startBareServerTarget();
  const durableTarget = await startLocalStackTarget(true);
  const memoryTarget = await startLocalStackTarget(false);
  const baselineRounds: LoadResult[] = [];
  const durableRounds: LoadResult[] = [];
  const memoryRounds: LoadResult[] = [];
  try {
    await closedLoop(WARMUP_TASKS, CONCURRENCY, () => baselineTarget.runTask());
    await closedLoop(WARMUP_TASKS, CONCURRENCY, () => durableTarget.runTask());
    await closedLoop(WARMUP_TASKS, CONCURRENCY, () => memoryTarget.runTask());
    // Alternate short rounds and keep the median: one round is well under a second on this machine.
    for (let round = 0; round < ROUNDS; round++) {
      baselineRounds.push(await closedLoop(TASKS, CONCURRENCY, () => baselineTarget.runTask()));
      durableRounds.push(await closedLoop(TASKS, CONCURRENCY, () => durableTarget.runTask()));
      memoryRounds.push(await closedLoop(TASKS, CONCURRENCY, () => memoryTarget.runTask()));
    }
  } finally {
    await baselineTarget.stop();
    await durableTarget.stop();
    await memoryTarget.stop();
  }
  const perSecond = (rounds: LoadResult[]) => median(rounds.map((round) => TASKS / round.seconds));
  const perTaskMs = (rounds: LoadResult[]) => median(rounds.flatMap((round) => round.perTaskMs));
  const durablePerSecond = perSecond(durableRounds);
  const memoryPerSecond = perSecond(memoryRounds);
  const baselinePerSecond = perSecond(baselineRounds);
  return {
    row: `6. local end-to-end, ${TASKS} tasks × ${CONCURRENCY} clients`,
    ours:
      `durable (SQLite): ${durablePerSecond.toFixed(0)} tasks/s POST→SUCCEEDED (median ${perTaskMs(durableRounds).toFixed(1)} ms each); ` +
      `in memory: ${memoryPerSecond.toFixed(0)} tasks/s (${perTaskMs(memoryRounds).toFixed(1)} ms)`,
    baseline: `${baselinePerSecond.toFixed(0)} req/s (bare node:http POST, ${perTaskMs(baselineRounds).toFixed(1)} ms each)`,
    // Oriented like the other rows: how many times the baseline's cost each task costs us, on the
    // store `npm start` uses by default.
    ratio: baselinePerSecond / durablePerSecond,
    goal: 'report only',
    met: null,
    detail: {
      tasks: TASKS,
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      durableTasksPerSecondByRound: durableRounds.map((round) => TASKS / round.seconds),
      memoryTasksPerSecondByRound: memoryRounds.map((round) => TASKS / round.seconds),
      baselineRequestsPerSecondByRound: baselineRounds.map((round) => TASKS / round.seconds),
      durableMedianTaskMs: perTaskMs(durableRounds),
      memoryMedianTaskMs: perTaskMs(memoryRounds),
      baselineMedianRequestMs: perTaskMs(baselineRounds),
      memoryToDurable: memoryPerSecond / durablePerSecond,
    },
  };
}
