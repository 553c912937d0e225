/**
 * The per-corp call budget. WeCom allows each corp 10 000 calls a minute and 150 000 an hour per
 * interface, and blocks a corp that goes over for the rest of the window (45009). Lambda and SQS
 * scale out without asking, so every zone call (create or poll) first takes a token from its corp's
 * budget, shared by every concurrent Lambda through conditional writes; a step that finds the budget
 * spent waits on its own message instead of calling. When WeCom answers 45009 / 45033 anyway, the
 * corp is blocked for a minute, so the whole corp backs off, not each task on its own. The budget
 * holds in any span of a window's length ({@link BUCKETS_PER_WINDOW}), not only in windows aligned
 * to our clock.
 */
import * as z from 'zod';
import { ERRCODE } from '../protocol/errcodes.js';
import { RESERVED_KEY_PREFIX } from '../tasks/jobid.js';

/** The corp of a task whose request names none (a deployment serving one corp). */
export const DEFAULT_CORP_ID = 'default';

/** A corp id: ids only, so it can be part of a key. */
export const CorpIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ . -');

/** WeCom's answers that mean the corp went over its limit. */
export function isRateLimit(errcode: number): boolean {
  return errcode === ERRCODE.frequencyLimit || errcode === ERRCODE.concurrencyLimit;
}

export const BudgetWindowSchema = z.object({
  /** Window length: WeCom counts per minute and per hour. */
  seconds: z.int().min(1),
  /** Calls allowed per window and corp. */
  limit: z.int().min(1),
});
export type BudgetWindow = z.infer<typeof BudgetWindowSchema>;

/** 80 % of WeCom's limits (10 000 / min, 150 000 / h), leaving room for calls made elsewhere. */
export const DEFAULT_BUDGET_WINDOWS: readonly BudgetWindow[] = [
  { seconds: 60, limit: 8_000 },
  { seconds: 3_600, limit: 120_000 },
];

export type BudgetDecision =
  | { granted: true }
  /**
   * Refused: try again at `retryAt` (epoch ms, before jitter). `reason` says why: `budget`, this
   * deployment's own budget for the corp is used up; `rate_limited`, WeCom answered 45009 / 45033 for
   * the corp a moment ago and the corp is backing off.
   */
  | { granted: false; retryAt: number; reason: RefusalReason };

export type RefusalReason = 'budget' | 'rate_limited';

export interface CallBudget {
  /** Take one call from the corp's budget in every window, all or nothing. */
  tryAcquire(corpId: string, now: number): Promise<BudgetDecision>;
  /** WeCom said the corp is over its limit: the corp makes no call for a whole minute from `now`. */
  exhaust(corpId: string, now: number): Promise<void>;
}

/** The windows, shortest first. */
export function byLength(windows: readonly BudgetWindow[]): BudgetWindow[] {
  return [...windows].sort((a, b) => a.seconds - b.seconds);
}

/**
 * Each window is a sliding window over {@link BUCKETS_PER_WINDOW} sub-window buckets: a call in
 * bucket j is granted only while the calls in buckets j−k … j (k = buckets per window, so a little
 * more than one window) number fewer than the limit. Any span of the window's length, wherever it
 * starts, lies inside the k + 1 buckets that end with its last call's, and that call was counted
 * against them all, so no such span holds more than the limit. (Fixed windows, the earlier design,
 * allowed twice the limit across a boundary, and WeCom's windows need not start when ours do.) The
 * price: at a steady full rate, k calls' worth of windows pass per k + 1 buckets (98 %).
 *
 * The counter of a corp and window is one record: `total`, the calls granted so far (a refused call
 * gives its grant back), and `marks`, for each bucket with calls, the total just before its first
 * call. So the calls in buckets i… are `total - marks[i*]` for the first marked bucket i* >= i, and
 * a grant is one conditional write `total < marks[i*] + limit` that concurrent callers never spoil
 * for each other (marks of past buckets never change).
 */
export const BUCKETS_PER_WINDOW = 60;

/** A window's counter as stored (DynamoDB item, SQLite row or memory); reads are parsed with it. */
export const WindowCounterSchema = z.object({
  total: z.number(),
  /** Bucket index (as a string) → the total before the bucket's first call (an object of numbers: `z.record` would add 4 KB to every bundle). */
  marks: z.object({}).catchall(z.number()),
  /** WeCom answered 45009 / 45033: no call before this time (epoch ms). */
  blocked_until: z.number().optional(),
});
export type WindowCounter = z.infer<typeof WindowCounterSchema>;

/** Milliseconds per bucket. */
export function bucketMs(window: BudgetWindow): number {
  return (window.seconds * 1000) / BUCKETS_PER_WINDOW;
}

/** The bucket holding `at`. */
export function bucketOf(window: BudgetWindow, at: number): number {
  return Math.floor(at / bucketMs(window));
}

/** The marked buckets from `first` on, ascending. */
export function markedBuckets(counter: Pick<WindowCounter, 'marks'>, first: number): number[] {
  return Object.keys(counter.marks)
    .map(Number)
    .filter((bucket) => bucket >= first)
    .sort((a, b) => a - b);
}

/**
 * Whether a call at `at` fits the window, on a counter known to be complete up to `at`: granted,
 * with the first marked bucket of the range (the grant's condition is `total < marks[first] +
 * limit`); or refused until `retryAt`, the time enough old buckets have left the range for one more
 * call (or the end of a WeCom block).
 */
export function assessWindow(
  counter: WindowCounter,
  window: BudgetWindow,
  at: number,
): { granted: true; first: number | undefined } | { granted: false; retryAt: number; reason: RefusalReason } {
  if (counter.blocked_until !== undefined && counter.blocked_until > at) {
    return { granted: false, retryAt: counter.blocked_until, reason: 'rate_limited' };
  }
  const current = bucketOf(window, at);
  let first: number | undefined;
  for (const key in counter.marks) {
    const bucket = Number(key);
    if (bucket >= current - BUCKETS_PER_WINDOW && (first === undefined || bucket < first)) first = bucket;
  }
  const count = first === undefined ? 0 : counter.total - (counter.marks[String(first)] ?? counter.total);
  if (count < window.limit) return { granted: true, first };
  const marked = markedBuckets(counter, current - BUCKETS_PER_WINDOW);
  // Let buckets leave the range, oldest first, until a call fits again.
  for (const [index, bucket] of marked.entries()) {
    const next = marked[index + 1];
    const left = next === undefined ? 0 : counter.total - (counter.marks[String(next)] ?? counter.total);
    if (left < window.limit)
      return { granted: false, retryAt: (bucket + BUCKETS_PER_WINDOW + 1) * bucketMs(window), reason: 'budget' };
  }
  return { granted: false, retryAt: (current + BUCKETS_PER_WINDOW + 1) * bucketMs(window), reason: 'budget' };
}

/** Marks older than every range a call at `at` can look at: safe to drop. */
export function staleMarks(counter: Pick<WindowCounter, 'marks'>, window: BudgetWindow, at: number): string[] {
  const oldest = bucketOf(window, at) - BUCKETS_PER_WINDOW - 2;
  return Object.keys(counter.marks).filter((bucket) => Number(bucket) < oldest);
}

/**
 * The counter of a corp's window: `budget#<corp>#<seconds>` (one per corp and window length; the
 * tasks table's jobids never start with `budget#`, `lib/tasks/jobid.ts`).
 */
export function budgetCounterKey(corpId: string, window: BudgetWindow): string {
  return `${RESERVED_KEY_PREFIX}${corpId}#${window.seconds}`;
}

/** Counters expire (epoch seconds, DynamoDB TTL) a day after the window a call at `at` opens. */
export function counterExpiresAt(window: BudgetWindow, at: number): number {
  return Math.floor(at / 1000) + window.seconds + 86_400;
}

/**
 * A call at `at` taken on `counter` (already assessed as granted): its bucket's mark, the total, and
 * marks no range can reach any more dropped. Shared by the in-process adapters.
 */
export function takeOnCounter(counter: WindowCounter, window: BudgetWindow, at: number): void {
  const bucket = String(bucketOf(window, at));
  counter.marks[bucket] ??= counter.total;
  counter.total += 1;
  // Pruned once a bucket has passed (at its first call), not on every call: simulations make millions.
  if (counter.marks[bucket] === counter.total - 1)
    for (const stale of staleMarks(counter, window, at)) delete counter.marks[stale];
}

/**
 * When a refused step should try again: the refusal time plus a spread over a fraction of the next
 * window, so a blocked corp's tasks do not all wake in the same second (no thundering herd).
 */
export function retryTime(decision: { retryAt: number }, spreadMs: number, random: number = Math.random()): number {
  return decision.retryAt + Math.floor(spreadMs * random);
}
