/**
 * The embedded call budget for one process, with the DynamoDB adapter's semantics.
 */
import { type BudgetDecision, type BudgetWindow, byLength, type CallBudget, DEFAULT_BUDGET_WINDOWS, windowEnd, windowStart } from './port.js';

export class MemoryCallBudget implements CallBudget {
  readonly windows: readonly BudgetWindow[];
  /** Calls per (corp, window, window start); ended windows are pruned as time moves on. */
  readonly #counts = new Map<string, { count: number; endsAt: number }>();

  constructor(windows: readonly BudgetWindow[] = DEFAULT_BUDGET_WINDOWS) {
    this.windows = byLength(windows);
  }

  async tryAcquire(corpId: string, now: number): Promise<BudgetDecision> {
    return this.tryAcquireNow(corpId, now);
  }

  /** Synchronous form, for simulations on a virtual clock. */
  tryAcquireNow(corpId: string, now: number): BudgetDecision {
    this.#prune(now);
    const slots = this.windows.map((window) => this.#slot(corpId, window, now));
    for (const [index, window] of this.windows.entries()) {
      if ((slots[index]?.count ?? 0) >= window.limit) return { granted: false, retryAt: windowEnd(window, now) };
    }
    for (const slot of slots) slot.count += 1;
    return { granted: true };
  }

  async exhaust(corpId: string, now: number): Promise<void> {
    this.exhaustNow(corpId, now);
  }

  exhaustNow(corpId: string, now: number): void {
    const shortest = this.windows[0];
    if (shortest) this.#slot(corpId, shortest, now).count = shortest.limit;
  }

  #slot(corpId: string, window: BudgetWindow, now: number): { count: number; endsAt: number } {
    const key = `${corpId}#${window.seconds}#${windowStart(window, now)}`;
    let slot = this.#counts.get(key);
    if (!slot) {
      slot = { count: 0, endsAt: windowEnd(window, now) };
      this.#counts.set(key, slot);
    }
    return slot;
  }

  #prune(now: number): void {
    if (this.#counts.size < 1000) return;
    for (const [key, slot] of this.#counts) if (slot.endsAt <= now) this.#counts.delete(key);
  }
}
