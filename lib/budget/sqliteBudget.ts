/**
 * The call budget in the durable embedded database (`npm start`): one counter row per corp and
 * window, as the DynamoDB adapter keeps one item. All windows are taken in one transaction, so a
 * refused call takes nothing (DynamoDB's adapter gives back what it took instead).
 */
import type { LocalDatabase } from '../local/database.js';
import {
  type BudgetDecision,
  type BudgetWindow,
  budgetCounterKey,
  byLength,
  type CallBudget,
  counterExpiresAt,
  DEFAULT_BUDGET_WINDOWS,
  windowEnd,
} from './port.js';

/** Thrown inside the transaction to roll back the windows already taken. */
class Refused extends Error {
  constructor(readonly retryAt: number) {
    super('budget spent');
  }
}

export class SqliteCallBudget implements CallBudget {
  readonly windows: readonly BudgetWindow[];

  constructor(
    readonly db: LocalDatabase,
    windows: readonly BudgetWindow[] = DEFAULT_BUDGET_WINDOWS,
  ) {
    this.windows = byLength(windows);
  }

  async tryAcquire(corpId: string, now: number): Promise<BudgetDecision> {
    try {
      this.db.transaction(() => {
        for (const window of this.windows) {
          const { changes } = this.db.run(
            `INSERT INTO budget (counter_key, count, expires_at) VALUES (:key, 1, :expiresAt)
             ON CONFLICT (counter_key) DO UPDATE SET count = count + 1 WHERE count < :limit`,
            { key: budgetCounterKey(corpId, window, now), expiresAt: counterExpiresAt(window, now), limit: window.limit },
          );
          if (changes === 0) throw new Refused(windowEnd(window, now));
        }
      });
      return { granted: true };
    } catch (error) {
      if (error instanceof Refused) return { granted: false, retryAt: error.retryAt };
      throw error;
    }
  }

  async exhaust(corpId: string, now: number): Promise<void> {
    const shortest = this.windows[0];
    if (!shortest) return;
    // Whatever was counted, it now reads at least the limit.
    this.db.run(
      `INSERT INTO budget (counter_key, count, expires_at) VALUES (:key, :limit, :expiresAt)
       ON CONFLICT (counter_key) DO UPDATE SET count = max(count, :limit)`,
      { key: budgetCounterKey(corpId, shortest, now), expiresAt: counterExpiresAt(shortest, now), limit: shortest.limit },
    );
  }

  /** Delete counters whose `expires_at` has passed, as DynamoDB's TTL does on AWS. */
  async purgeExpired(now: number): Promise<number> {
    return this.db.purgeExpired('budget', 'counter_key', Math.floor(now / 1000));
  }
}
