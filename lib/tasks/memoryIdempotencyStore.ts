/**
 * The memory adapter of the idempotency store (tests, benchmarks): one entry per key digest, with
 * the DynamoDB adapter's semantics and item limit.
 */
import { checkItemSize } from './itemSize.js';
import type { IdempotencyClaim, IdempotencyStore, SettledFailure } from './port.js';
import type { SubmittedTask } from './task.js';

/** In-process adapter (`npm start`, tests), with the DynamoDB adapter's semantics and item limit. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #records = new Map<
    string,
    { fingerprint: string; claimedAt: number; response?: SubmittedTask; failure?: SettledFailure; expiresAt: number }
  >();

  async claim(
    key: string,
    fingerprint: string,
    now: number,
    options: { staleAfterMs: number; expiresAt: number },
  ): Promise<IdempotencyClaim> {
    const existing = this.#records.get(key);
    const expired = existing && existing.expiresAt * 1000 <= now;
    // Only a claim that never settled can be stale: a settled failure stays with its key until it expires.
    const stale =
      existing && !existing.response && !existing.failure && existing.claimedAt + options.staleAfterMs <= now;
    if (!existing || expired || stale) {
      this.#records.set(key, { fingerprint, claimedAt: now, expiresAt: options.expiresAt });
      return { kind: 'claimed' };
    }
    return (await this.get(key)) as IdempotencyClaim;
  }

  async get(key: string): Promise<IdempotencyClaim | undefined> {
    const record = this.#records.get(key);
    if (!record) return undefined;
    if (record.failure)
      return { kind: 'failed', fingerprint: record.fingerprint, failure: structuredClone(record.failure) };
    return record.response
      ? { kind: 'completed', fingerprint: record.fingerprint, response: structuredClone(record.response) }
      : { kind: 'in_progress', fingerprint: record.fingerprint };
  }

  async complete(key: string, response: SubmittedTask): Promise<void> {
    const record = this.#records.get(key);
    // The DynamoDB adapter stores the answer as JSON in one item: the same limit applies.
    checkItemSize({ idempotency_key: key, fingerprint: record?.fingerprint, response: JSON.stringify(response) });
    if (record) record.response = structuredClone(response);
  }

  async fail(key: string, failure: SettledFailure): Promise<void> {
    const record = this.#records.get(key);
    if (record) record.failure = structuredClone(failure);
  }

  async release(key: string): Promise<void> {
    this.#records.delete(key);
  }

  /** Forget the keys whose `expiresAt` (epoch seconds) has passed, as DynamoDB's TTL does on AWS. */
  async purgeExpired(now: number): Promise<number> {
    const nowSeconds = Math.floor(now / 1000);
    let deleted = 0;
    for (const [key, record] of this.#records) {
      if (record.expiresAt > nowSeconds) continue;
      this.#records.delete(key);
      deleted += 1;
    }
    return deleted;
  }
}
