/**
 * Budget tokens in blocks: the poll steps of one SQS batch run concurrently in one container, and
 * each wants one call of its corp's budget at about the same moment. Instead of one counter write per
 * step and window, the requests of a corp that arrive within {@link CoalescingOptions.windowMs} are
 * taken as one block (`CallBudget.tryAcquire(corp, now, n)`): one conditional write per window for
 * the whole batch, all or nothing. The block is counted at the first request's time and its calls
 * are made right away, so the sliding windows' guarantee is unchanged (`port.ts`). When a block does
 * not fit, its requests are tried one by one, so a nearly spent budget still grants what fits.
 */
import type { BudgetDecision, CallBudget } from './port.js';

export interface CoalescingOptions {
  /**
   * How long the first request of a block waits for others (ms). 0: until the current turn of the
   * event loop ends (enough when the steps' reads answer from memory, as in the simulation).
   */
  windowMs?: number;
}

interface Waiter {
  resolve(decision: BudgetDecision): void;
  reject(error: unknown): void;
}

interface Block {
  now: number;
  waiters: Waiter[];
}

/** The default wait for a block's other requests on AWS: small beside the zone call it precedes. */
export const DEFAULT_COALESCING_WINDOW_MS = 10;

export class CoalescingBudget implements CallBudget {
  readonly #pending = new Map<string, Block>();
  readonly #windowMs: number;

  constructor(
    readonly inner: CallBudget,
    options: CoalescingOptions = {},
  ) {
    this.#windowMs = options.windowMs ?? DEFAULT_COALESCING_WINDOW_MS;
  }

  tryAcquire(corpId: string, now: number, count = 1): Promise<BudgetDecision> {
    if (count !== 1) return this.inner.tryAcquire(corpId, now, count);
    return new Promise<BudgetDecision>((resolve, reject) => {
      let block = this.#pending.get(corpId);
      if (!block) {
        block = { now, waiters: [] };
        this.#pending.set(corpId, block);
        const run = () => void this.#flush(corpId);
        if (this.#windowMs > 0) setTimeout(run, this.#windowMs);
        else setImmediate(run);
      }
      block.waiters.push({ resolve, reject });
    });
  }

  exhaust(corpId: string, now: number): Promise<void> {
    return this.inner.exhaust(corpId, now);
  }

  async #flush(corpId: string): Promise<void> {
    const block = this.#pending.get(corpId);
    if (!block) return;
    this.#pending.delete(corpId);
    const { now, waiters } = block;
    try {
      const decision = await this.inner.tryAcquire(corpId, now, waiters.length);
      if (decision.granted || waiters.length === 1) {
        for (const waiter of waiters) waiter.resolve(decision);
        return;
      }
      // The block does not fit: grant what does, one call at a time; after the first refusal the
      // rest are refused alike (nothing was given back in between that they could use).
      let refusal: BudgetDecision | undefined;
      for (const waiter of waiters) {
        refusal ??= await this.inner.tryAcquire(corpId, now).then((single) => (single.granted ? undefined : single));
        waiter.resolve(refusal ?? { granted: true });
      }
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error);
    }
  }
}
