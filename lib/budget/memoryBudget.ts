/**
 * The embedded call budget for one process, with the DynamoDB adapter's semantics step for step:
 * the same sliding-window counters (`port.ts`), taken shortest window first, a refusal giving back
 * what the shorter windows took, and a 45009 blocking the corp's minute.
 */
import {
  assessWindow,
  type BudgetDecision,
  type BudgetWindow,
  byLength,
  type CallBudget,
  DEFAULT_BUDGET_WINDOWS,
  takeOnCounter,
  type WindowCounter,
} from './port.js';

export class MemoryCallBudget implements CallBudget {
  readonly windows: readonly BudgetWindow[];
  /** Per `corp#seconds`. */
  readonly #counters = new Map<string, WindowCounter>();

  constructor(windows: readonly BudgetWindow[] = DEFAULT_BUDGET_WINDOWS) {
    this.windows = byLength(windows);
  }

  async tryAcquire(corpId: string, now: number, count = 1): Promise<BudgetDecision> {
    return this.tryAcquireNow(corpId, now, count);
  }

  /** Synchronous form, for simulations on a virtual clock. */
  tryAcquireNow(corpId: string, now: number, count = 1): BudgetDecision {
    const taken: WindowCounter[] = [];
    for (const window of this.windows) {
      const counter = this.#counter(corpId, window);
      const decision = assessWindow(counter, window, now, count);
      if (!decision.granted) {
        // Give back what the shorter windows took (as the DynamoDB adapter does).
        for (const done of taken) done.total -= count;
        return decision;
      }
      takeOnCounter(counter, window, now, count);
      taken.push(counter);
    }
    return { granted: true };
  }

  async exhaust(corpId: string, now: number): Promise<void> {
    this.exhaustNow(corpId, now);
  }

  exhaustNow(corpId: string, now: number): void {
    const shortest = this.windows[0];
    if (!shortest) return;
    const counter = this.#counter(corpId, shortest);
    const until = now + shortest.seconds * 1000;
    if (counter.blocked_until === undefined || counter.blocked_until < until) counter.blocked_until = until;
  }

  #counter(corpId: string, window: BudgetWindow): WindowCounter {
    const key = `${corpId}#${window.seconds}`;
    let counter = this.#counters.get(key);
    if (!counter) {
      counter = { total: 0, marks: {} };
      this.#counters.set(key, counter);
    }
    return counter;
  }
}
