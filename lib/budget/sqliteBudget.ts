/**
 * The call budget in the durable embedded database (`npm start`): one counter row per corp and
 * window, as the DynamoDB adapter keeps one item, holding the sliding window's `total` and bucket
 * `marks` (`port.ts`). Every window is assessed and taken in one transaction (nothing else of this
 * process runs in between), with the same steps as the memory adapter, so a refused call takes
 * nothing (DynamoDB's adapter gives back what it took instead).
 */
import type { LocalDatabase } from '../shared/database.js';
import {
  assessWindow,
  type BudgetDecision,
  type BudgetWindow,
  budgetCounterKey,
  byLength,
  type CallBudget,
  counterExpiresAt,
  DEFAULT_BUDGET_WINDOWS,
  takeOnCounter,
  type WindowCounter,
  WindowCounterSchema,
} from './port.js';

interface CounterRow {
  total: number;
  marks: string;
  blocked_until: number | null;
}

/** Thrown inside the transaction to roll back the windows already taken. */
class Refused extends Error {
  constructor(readonly decision: Exclude<BudgetDecision, { granted: true }>) {
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
          const key = budgetCounterKey(corpId, window);
          const counter = this.#read(key);
          const decision = assessWindow(counter, window, now);
          if (!decision.granted) throw new Refused(decision);
          takeOnCounter(counter, window, now);
          this.#write(key, counter, counterExpiresAt(window, now));
        }
      });
      return { granted: true };
    } catch (error) {
      if (error instanceof Refused) return error.decision;
      throw error;
    }
  }

  async exhaust(corpId: string, now: number): Promise<void> {
    const shortest = this.windows[0];
    if (!shortest) return;
    const until = now + shortest.seconds * 1000;
    this.db.transaction(() => {
      const key = budgetCounterKey(corpId, shortest);
      const counter = this.#read(key);
      // Never shortens a longer block.
      if (counter.blocked_until === undefined || counter.blocked_until < until) counter.blocked_until = until;
      this.#write(key, counter, counterExpiresAt(shortest, until));
    });
  }

  /** Delete counters whose `expires_at` has passed, as DynamoDB's TTL does on AWS. */
  async purgeExpired(now: number): Promise<number> {
    return this.db.purgeExpired('budget', 'counter_key', Math.floor(now / 1000));
  }

  #read(key: string): WindowCounter {
    const row = this.db.get<CounterRow>('SELECT total, marks, blocked_until FROM budget WHERE counter_key = :key', {
      key,
    });
    if (!row) return { total: 0, marks: {} };
    return WindowCounterSchema.parse({
      total: row.total,
      marks: JSON.parse(row.marks),
      blocked_until: row.blocked_until ?? undefined,
    });
  }

  #write(key: string, counter: WindowCounter, expiresAt: number): void {
    this.db.run(
      `INSERT INTO budget (counter_key, total, marks, blocked_until, expires_at) VALUES (:key, :total, :marks, :blockedUntil, :expiresAt)
       ON CONFLICT (counter_key) DO UPDATE SET total = :total, marks = :marks, blocked_until = :blockedUntil, expires_at = max(expires_at, :expiresAt)`,
      {
        key,
        total: counter.total,
        marks: JSON.stringify(counter.marks),
        blockedUntil: counter.blocked_until ?? null,
        expiresAt,
      },
    );
  }
}
