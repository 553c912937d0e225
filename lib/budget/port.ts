/**
 * The per-corp call budget. WeCom allows each corp 10 000 calls a minute and 150 000 an hour per
 * interface, and blocks a corp that goes over for the rest of the window (45009). Lambda and SQS
 * scale out without asking, so every zone call (create or poll) first takes a token from its corp's
 * budget, shared by every concurrent Lambda through conditional writes; a step that finds the budget
 * spent waits on its own message instead of calling. When WeCom answers 45009 / 45033 anyway, the
 * corp's current minute is marked spent, so the whole corp backs off until the window ends, not each
 * task on its own.
 */
import * as z from 'zod';
import { ERRCODE } from '../protocol/errcodes.js';

/** The corp of a task whose request names none (a deployment serving one corp). */
export const DEFAULT_CORP_ID = 'default';

/** A corp id: ids only, so it can be part of a key. */
export const CorpIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ . -');

/** WeCom's answers that mean the corp went over its limit. */
export function isRateLimit(errcode: number): boolean {
  return errcode === ERRCODE.frequencyLimit || errcode === ERRCODE.concurrencyLimit;
}

export const BudgetWindowSchema = z.object({
  /** Window length: WeCom counts per fixed minute and per fixed hour. */
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
  /** A window is spent: try again at `retryAt` (its end, epoch ms, before jitter). */
  | { granted: false; retryAt: number };

export interface CallBudget {
  /** Take one call from the corp's budget in every window, all or nothing. */
  tryAcquire(corpId: string, now: number): Promise<BudgetDecision>;
  /** WeCom said the corp is over its limit: spend the rest of its shortest window (the minute). */
  exhaust(corpId: string, now: number): Promise<void>;
}

/** The windows, shortest first. */
export function byLength(windows: readonly BudgetWindow[]): BudgetWindow[] {
  return [...windows].sort((a, b) => a.seconds - b.seconds);
}

/** Start of the fixed window holding `now`. */
export function windowStart(window: BudgetWindow, now: number): number {
  const ms = window.seconds * 1000;
  return Math.floor(now / ms) * ms;
}

/** End of the fixed window holding `now`. */
export function windowEnd(window: BudgetWindow, now: number): number {
  return windowStart(window, now) + window.seconds * 1000;
}

/** The counter of a corp's window holding `now`: `budget#<corp>#<seconds>#<window start>`. */
export function budgetCounterKey(corpId: string, window: BudgetWindow, now: number): string {
  return `budget#${corpId}#${window.seconds}#${windowStart(window, now)}`;
}

/** Counters expire (epoch seconds, DynamoDB TTL) a day after their window. */
export function counterExpiresAt(window: BudgetWindow, now: number): number {
  return Math.floor(windowEnd(window, now) / 1000) + 86_400;
}

/**
 * When a refused step should try again: the refusal time plus a spread over a fraction of the next
 * window, so a blocked corp's tasks do not all wake in the same second (no thundering herd).
 */
export function retryTime(decision: { retryAt: number }, spreadMs: number, random: number = Math.random()): number {
  return decision.retryAt + Math.floor(spreadMs * random);
}
