/**
 * The durable embedded adapter of the idempotency store (`npm start`): one row per key digest in the
 * local SQLite database, claimed with one conditional upsert, the DynamoDB adapter's condition.
 */
import type { LocalDatabase } from '../shared/database.js';
import { checkItemSize } from './itemSize.js';
import { type IdempotencyClaim, type IdempotencyStore, type SettledFailure, storedClaim } from './port.js';
import type { SubmittedTask } from './task.js';

interface IdempotencyRow {
  fingerprint: string;
  status: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  /** COMPLETED: the 202 answer; FAILED: the SettledFailure a retry with the key gets (both JSON). */
  response: string | null;
}

export class SqliteIdempotencyStore implements IdempotencyStore {
  constructor(readonly db: LocalDatabase) {}

  async claim(
    key: string,
    fingerprint: string,
    now: number,
    options: { staleAfterMs: number; expiresAt: number },
  ): Promise<IdempotencyClaim> {
    // Free, expired (not yet purged), or left IN_PROGRESS by a request that died: as DynamoDB's condition.
    const { changes } = this.db.run(
      `INSERT INTO idempotency (idempotency_key, fingerprint, status, claimed_at, expires_at, response)
       VALUES (:key, :fingerprint, 'IN_PROGRESS', :now, :expiresAt, NULL)
       ON CONFLICT (idempotency_key) DO UPDATE SET
         fingerprint = excluded.fingerprint, status = 'IN_PROGRESS', claimed_at = excluded.claimed_at,
         expires_at = excluded.expires_at, response = NULL
       WHERE expires_at <= :nowSeconds OR (status = 'IN_PROGRESS' AND claimed_at <= :staleBefore)`,
      {
        key,
        fingerprint,
        now,
        expiresAt: options.expiresAt,
        nowSeconds: Math.floor(now / 1000),
        staleBefore: now - options.staleAfterMs,
      },
    );
    if (changes === 1) return { kind: 'claimed' };
    return (await this.get(key)) ?? this.claim(key, fingerprint, now, options);
  }

  async get(key: string): Promise<IdempotencyClaim | undefined> {
    const row = this.db.get<IdempotencyRow>(
      'SELECT fingerprint, status, response FROM idempotency WHERE idempotency_key = :key',
      { key },
    );
    if (!row) return undefined;
    return storedClaim(row.status, row.fingerprint, row.response ?? undefined);
  }

  async complete(key: string, response: SubmittedTask): Promise<void> {
    // The DynamoDB adapter keeps the answer in one item: the same 400 KB limit applies here.
    checkItemSize({ idempotency_key: key, response: JSON.stringify(response) });
    this.db.run(`UPDATE idempotency SET status = 'COMPLETED', response = :response WHERE idempotency_key = :key`, {
      key,
      response: JSON.stringify(response),
    });
  }

  async fail(key: string, failure: SettledFailure): Promise<void> {
    this.db.run(`UPDATE idempotency SET status = 'FAILED', response = :failure WHERE idempotency_key = :key`, {
      key,
      failure: JSON.stringify(failure),
    });
  }

  async release(key: string): Promise<void> {
    this.db.run('DELETE FROM idempotency WHERE idempotency_key = :key', { key });
  }

  /** Forget the keys whose `expires_at` (epoch seconds) has passed, as DynamoDB's TTL does on AWS. */
  async purgeExpired(now: number): Promise<number> {
    return this.db.purgeExpired('idempotency', 'idempotency_key', Math.floor(now / 1000));
  }
}
