/**
 * Capacity simulation on a virtual clock: many tasks of several corps through the real submit and
 * poll code (`submitTask`, `pollTaskRecord`) with the in-memory store and budget, a simulated queue
 * that honours delays and visibility, and a zone that finishes each job at its own time and counts
 * every call per corp and window, answering 45009 past WeCom's limits as WeCom would. No sleeping:
 * hours of traffic run in seconds. Used by `npm run bench` and by the budget test.
 */

import { MemoryCallBudget } from '../lib/budget/memoryBudget.js';
import { type BudgetWindow, DEFAULT_BUDGET_WINDOWS } from '../lib/budget/port.js';
import { commonConfig } from '../lib/config.js';
import { BudgetSpentError, ZoneRateLimitedError } from '../lib/create/errors.js';
import { submitTask } from '../lib/create/submitTask.js';
import type { Log } from '../lib/log.js';
import { pollTaskRecord } from '../lib/poll/pollTask.js';
import { DEFAULT_POLL_SCHEDULE, type PollSchedule } from '../lib/poll/schedule.js';
import { ERRCODE } from '../lib/protocol/errcodes.js';
import type { GetProgramTaskResultResponse } from '../lib/protocol/zone.js';
import type { PollMessage, PollQueue } from '../lib/queue/port.js';
import { MemoryTaskStore } from '../lib/tasks/memoryStore.js';
import type { ZoneClient } from '../lib/zone/client.js';
import { seededRandom } from './random.js';

export interface CorpLoad {
  corpId: string;
  tasks: number;
  /** When the burst is submitted (ms from the start). */
  submitAtMs?: number;
}

export interface SimulationOptions {
  corps: CorpLoad[];
  /** Job durations are drawn log-uniformly between these (seconds). */
  minJobSeconds: number;
  maxJobSeconds: number;
  budgetWindows?: readonly BudgetWindow[];
  /** WeCom's real limits, enforced by the simulated zone (default 10 000 / min, 150 000 / h). */
  zoneLimits?: readonly BudgetWindow[];
  schedule?: Partial<PollSchedule>;
  seed?: number;
  /** Stop after this much virtual time (ms), finished or not. */
  horizonMs?: number;
}

export interface CorpReport {
  corpId: string;
  tasks: number;
  finished: number;
  /** Virtual time from the burst to the last task's completion. */
  drainSeconds: number;
  /** Delay between a job finishing and its task showing it, in seconds. */
  detectionDelay: { p50: number; p90: number; p99: number; max: number };
  polls: number;
  creates: number;
  /** The most zone calls of this corp in any 60 s and in any 3600 s span (wherever it starts). */
  maxCallsPerMinute: number;
  maxCallsPerHour: number;
  /** Answers 45009: WeCom's limit was hit. */
  rateLimited: number;
  /** Calls refused by the budget (creates and polls): each waited for the next window instead. */
  budgetWaits: number;
}

const WECOM_LIMITS: readonly BudgetWindow[] = [
  { seconds: 60, limit: 10_000 },
  { seconds: 3_600, limit: 150_000 },
];

/** A min-heap of events by time. */
class EventQueue<T> {
  readonly #items: { time: number; seq: number; value: T }[] = [];
  #seq = 0;

  push(time: number, value: T): void {
    const items = this.#items;
    items.push({ time, seq: this.#seq++, value });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) break;
      [items[i], items[parent]] = [items[parent] as (typeof items)[0], items[i] as (typeof items)[0]];
      i = parent;
    }
  }

  pop(): { time: number; value: T } | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && this.#less(left, smallest)) smallest = left;
        if (right < items.length && this.#less(right, smallest)) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest] as (typeof items)[0], items[i] as (typeof items)[0]];
        i = smallest;
      }
    }
    return top;
  }

  get size(): number {
    return this.#items.length;
  }

  #less(a: number, b: number): boolean {
    const x = this.#items[a];
    const y = this.#items[b];
    if (!x || !y) return false;
    return x.time < y.time || (x.time === y.time && x.seq < y.seq);
  }
}

/** Calls in the last `spanMs` (a half-open span ending now): a queue of call times. */
export class SlidingCount {
  readonly #times: number[] = [];
  #head = 0;
  constructor(readonly spanMs: number) {}

  /** Count a call at `at` (times never go back); the calls in (at - span, at]. */
  add(at: number): number {
    this.#times.push(at);
    return this.count(at);
  }

  /** The calls in (at - span, at]. */
  count(at: number): number {
    while (this.#head < this.#times.length && (this.#times[this.#head] ?? at) <= at - this.spanMs) this.#head++;
    if (this.#head > 4096 && this.#head * 2 > this.#times.length) {
      this.#times.splice(0, this.#head);
      this.#head = 0;
    }
    return this.#times.length - this.#head;
  }
}

const silent: Log = { debug() {}, info() {}, warn() {}, error() {} };

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

type SimEvent =
  | { kind: 'create'; corpId: string; index: number }
  | { kind: 'poll'; body: string; receiptHandle: string };

export async function simulateCapacity(options: SimulationOptions): Promise<CorpReport[]> {
  const random = seededRandom(options.seed ?? 53659);
  let clock = 0;
  const now = () => clock;
  const events = new EventQueue<SimEvent>();
  const zoneLimits = options.zoneLimits ?? WECOM_LIMITS;

  // Zone side: job finish times, and calls per corp in every span of each window's length. WeCom's
  // windows need not start when ours do, so the zone answers 45009 whenever any span, wherever it
  // starts, holds more than WeCom's limit: the strictest reading, which holds for every alignment.
  const finishAt = new Map<string, number>();
  const corpOfJob = new Map<string, string>();
  const recent = new Map<string, SlidingCount>();
  const stats = new Map<string, CorpReport & { delays: number[]; startedAt: number; lastDone: number }>();
  let jobCounter = 0;
  let nextJobCorp = '';
  let nextJobDurationMs = 0;

  function counter(key: string, spanMs: number): SlidingCount {
    let found = recent.get(key);
    if (!found) {
      found = new SlidingCount(spanMs);
      recent.set(key, found);
    }
    return found;
  }

  /** Count a call; false when WeCom refuses it (45009): a refused call takes none of the quota. */
  function countCall(corpId: string): boolean {
    let over = false;
    const report = stats.get(corpId);
    for (const window of zoneLimits) {
      const made = counter(`made#${corpId}#${window.seconds}`, window.seconds * 1000).add(clock);
      if (counter(`served#${corpId}#${window.seconds}`, window.seconds * 1000).count(clock) >= window.limit)
        over = true;
      if (report) {
        if (window.seconds === 60) report.maxCallsPerMinute = Math.max(report.maxCallsPerMinute, made);
        if (window.seconds === 3600) report.maxCallsPerHour = Math.max(report.maxCallsPerHour, made);
      }
    }
    if (over) {
      if (report) report.rateLimited += 1;
      return false;
    }
    for (const window of zoneLimits) counter(`served#${corpId}#${window.seconds}`, window.seconds * 1000).add(clock);
    return true;
  }

  const zone: ZoneClient = {
    async createProgramTask() {
      const corpId = nextJobCorp;
      const report = stats.get(corpId);
      if (report) report.creates += 1;
      if (!countCall(corpId)) return { errcode: ERRCODE.frequencyLimit, errmsg: 'frequency limit', fail_list: [] };
      const jobid = `job${++jobCounter}`;
      finishAt.set(jobid, clock + nextJobDurationMs);
      corpOfJob.set(jobid, corpId);
      return { errcode: 0, errmsg: 'ok', jobid, fail_list: [] };
    },
    async getProgramTaskResult(jobid): Promise<GetProgramTaskResultResponse> {
      const corpId = corpOfJob.get(jobid) ?? '';
      if (!countCall(corpId)) return { errcode: ERRCODE.frequencyLimit, errmsg: 'frequency limit', fail_list: [] };
      if (clock < (finishAt.get(jobid) ?? 0))
        return { errcode: ERRCODE.resultPending, errmsg: 'waiting', fail_list: [] };
      return { errcode: 0, errmsg: 'ok', fail_list: [], response_errcode: 0, response_data: '{"score":1}' };
    },
  };

  let deferredTo: number | undefined;
  let handles = 0;
  const queue: PollQueue = {
    async sendPoll(message: PollMessage, delaySeconds: number) {
      events.push(clock + delaySeconds * 1000, {
        kind: 'poll',
        body: JSON.stringify(message),
        receiptHandle: `r${++handles}`,
      });
    },
    async deferPoll(_receiptHandle: string, delaySeconds: number) {
      deferredTo = clock + delaySeconds * 1000;
    },
  };

  const store = new MemoryTaskStore();
  const memoryBudget = new MemoryCallBudget(options.budgetWindows ?? DEFAULT_BUDGET_WINDOWS);
  // Count refusals per corp: a refused poll waits for the next window.
  const budget = {
    async tryAcquire(corpId: string, at: number) {
      const decision = await memoryBudget.tryAcquire(corpId, at);
      const report = stats.get(corpId);
      if (!decision.granted && report) report.budgetWaits += 1;
      return decision;
    },
    exhaust: (corpId: string, at: number) => memoryBudget.exhaust(corpId, at),
  };
  const common = commonConfig({});
  const schedule = { ...DEFAULT_POLL_SCHEDULE, ...options.schedule };
  const deps = {
    ...common,
    schedule,
    store,
    queue,
    zone,
    budget,
    logger: silent,
    now,
    random,
    sleep: async () => undefined,
    createRetries: 0,
  };

  const durations = new Map<string, number[]>();
  for (const load of options.corps) {
    stats.set(load.corpId, {
      corpId: load.corpId,
      tasks: load.tasks,
      finished: 0,
      drainSeconds: 0,
      detectionDelay: { p50: 0, p90: 0, p99: 0, max: 0 },
      polls: 0,
      creates: 0,
      maxCallsPerMinute: 0,
      maxCallsPerHour: 0,
      rateLimited: 0,
      budgetWaits: 0,
      delays: [],
      startedAt: load.submitAtMs ?? 0,
      lastDone: 0,
    });
    const logMin = Math.log(options.minJobSeconds);
    const logMax = Math.log(options.maxJobSeconds);
    durations.set(
      load.corpId,
      Array.from({ length: load.tasks }, () => Math.exp(logMin + random() * (logMax - logMin)) * 1000),
    );
    for (let index = 0; index < load.tasks; index++)
      events.push(load.submitAtMs ?? 0, { kind: 'create', corpId: load.corpId, index });
  }

  const request = {
    program_id: 'P',
    ability_id: 'A',
    msg_list: [{ msgid: 'M1', encrypt_info: { secret_key: 'K1' } }],
    escape_type: 0 as const,
  };
  const horizon = options.horizonMs ?? 7 * 86_400_000;

  for (let event = events.pop(); event && event.time <= horizon; event = events.pop()) {
    clock = event.time;
    const value = event.value;
    if (value.kind === 'create') {
      nextJobCorp = value.corpId;
      nextJobDurationMs = durations.get(value.corpId)?.[value.index] ?? 0;
      try {
        await submitTask(request, deps, { corpId: value.corpId });
      } catch (error) {
        // A careful client retries after the window, spread over the next 20 s.
        const retryAt =
          error instanceof BudgetSpentError || error instanceof ZoneRateLimitedError ? error.retryAt : clock + 5000;
        events.push(retryAt + Math.floor(random() * 20_000), value);
      }
      continue;
    }
    deferredTo = undefined;
    const outcome = await pollTaskRecord(
      { messageId: value.receiptHandle, receiptHandle: value.receiptHandle, body: value.body },
      deps,
    );
    if (outcome === 'waiting' && deferredTo !== undefined) events.push(deferredTo, value);
    else if (outcome === 'done') {
      const jobid = (JSON.parse(value.body) as { jobid: string }).jobid;
      const task = await store.get(jobid);
      const report = stats.get(task?.corp_id ?? '');
      if (task && report && task.status !== 'PENDING') {
        report.finished += 1;
        report.polls += task.attempts;
        report.delays.push((clock - (finishAt.get(jobid) ?? clock)) / 1000);
        report.lastDone = Math.max(report.lastDone, clock);
      }
    }
  }

  return [...stats.values()].map(({ delays, startedAt, lastDone, ...report }) => {
    const sorted = delays.sort((a, b) => a - b);
    return {
      ...report,
      drainSeconds: (lastDone - startedAt) / 1000,
      detectionDelay: {
        p50: percentile(sorted, 0.5),
        p90: percentile(sorted, 0.9),
        p99: percentile(sorted, 0.99),
        max: sorted.at(-1) ?? 0,
      },
    };
  });
}
