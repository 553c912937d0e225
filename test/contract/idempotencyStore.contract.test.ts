/**
 * The idempotency store port's contract, on every adapter: in memory, the durable SQLite store, and
 * DynamoDB (moto_server). A key is claimed by one request; the others see its progress.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { SubmittedTask } from '../../lib/create/submitTask.js';
import type { Expiring } from '../../lib/local/state.js';
import { DynamoIdempotencyStore } from '../../lib/tasks/dynamoIdempotencyStore.js';
import { MemoryIdempotencyStore } from '../../lib/tasks/memoryIdempotencyStore.js';
import type { IdempotencyStore } from '../../lib/tasks/port.js';
import { SqliteIdempotencyStore } from '../../lib/tasks/sqliteIdempotencyStore.js';
import { createIdempotencyTable, dynamoClient } from '../support/moto.js';
import { type AdapterKind, AWS, MEMORY, race, SQLITE, tempDatabase } from './adapters.js';

const T0 = Date.parse('2026-11-25T00:00:00Z');
const TTL_SECONDS = 86_400;
const STALE_MS = 30_000;
const options = (now: number) => ({ staleAfterMs: STALE_MS, expiresAt: Math.floor(now / 1000) + TTL_SECONDS });
const answer = (jobid: string): SubmittedTask => ({
  jobid,
  status: 'PENDING',
  fail_list: [{ errcode: 710613, errmsg: 'msgid duplicated', msgid: 'M1' }],
});

const adapters: { kind: AdapterKind; make: () => Promise<IdempotencyStore & Partial<Expiring>> }[] = [
  { kind: MEMORY, make: async () => new MemoryIdempotencyStore() },
  { kind: SQLITE, make: async () => new SqliteIdempotencyStore(tempDatabase()) },
  {
    kind: AWS,
    make: async () => {
      const client = dynamoClient();
      return new DynamoIdempotencyStore(client, await createIdempotencyTable(client));
    },
  },
];

for (const { kind, make } of adapters) {
  describe.skipIf(!kind.available)(`IdempotencyStore contract on ${kind.name}`, () => {
    let store: IdempotencyStore & Partial<Expiring>;
    beforeAll(async () => {
      store = await make();
    });

    it('gives a key to one claimer among concurrent ones; the others see it in progress with its fingerprint', async () => {
      expect(await store.get('k1')).toBeUndefined();
      const claims = await race(7, (i) => store.claim('k1', `fp-${i}`, T0 + i, options(T0 + i)));
      const winner = claims.findIndex((claim) => claim.kind === 'claimed');
      expect(claims.filter((claim) => claim.kind === 'claimed')).toHaveLength(1);
      const owner = { kind: 'in_progress', fingerprint: `fp-${winner}` };
      expect(claims.filter((claim) => claim.kind !== 'claimed')).toEqual(Array.from({ length: 6 }, () => owner));
      expect(await store.get('k1')).toEqual(owner);
    });

    it('replays the completed answer to every later claim, until the key expires', async () => {
      expect(await store.claim('k2', 'fp', T0, options(T0))).toEqual({ kind: 'claimed' });
      await store.complete('k2', answer('job-2'));
      const completed = { kind: 'completed', fingerprint: 'fp', response: answer('job-2') };
      expect(await store.get('k2')).toEqual(completed);
      // A completed key is never stale, however long ago it was claimed.
      expect(await store.claim('k2', 'fp', T0 + STALE_MS * 10, options(T0 + STALE_MS * 10))).toEqual(completed);
      const expiry = (Math.floor(T0 / 1000) + TTL_SECONDS) * 1000;
      expect(await store.claim('k2', 'fp', expiry - 1000, options(expiry - 1000))).toEqual(completed);
      // Expired but not yet deleted (TTL deletion lags): claimable again.
      expect(await store.claim('k2', 'fp-new', expiry, options(expiry))).toEqual({ kind: 'claimed' });
      expect(await store.get('k2')).toEqual({ kind: 'in_progress', fingerprint: 'fp-new' });
    });

    it('frees a released key, and lets a claim left IN_PROGRESS by a request that died be taken over', async () => {
      await store.claim('k3', 'fp', T0, options(T0));
      await store.release('k3');
      expect(await store.get('k3')).toBeUndefined();
      expect(await store.claim('k3', 'fp', T0 + 1, options(T0 + 1))).toEqual({ kind: 'claimed' });

      expect(await store.claim('k3', 'fp', T0 + STALE_MS, options(T0 + STALE_MS))).toEqual({
        kind: 'in_progress',
        fingerprint: 'fp',
      });
      const takeovers = await race(4, () => store.claim('k3', 'fp', T0 + 1 + STALE_MS, options(T0 + 1 + STALE_MS)));
      expect(takeovers.filter((claim) => claim.kind === 'claimed')).toHaveLength(1);
    });

    it('completing or failing a key nobody holds (released meanwhile) leaves no record behind', async () => {
      await store.complete('gone-1', answer('job-gone'));
      await store.fail('gone-2', { error: 'zone_outcome_unknown', reason: 'the call failed after it was sent' });
      expect(await store.get('gone-1')).toBeUndefined();
      expect(await store.get('gone-2')).toBeUndefined();
      expect(await store.claim('gone-1', 'fp', T0, options(T0))).toEqual({ kind: 'claimed' });
    });

    it('refuses an answer over DynamoDB’s 400 KB item limit; the key stays in progress', async () => {
      expect(await store.claim('huge', 'fp', T0, options(T0))).toEqual({ kind: 'claimed' });
      const huge: SubmittedTask = {
        jobid: 'job-huge',
        status: 'PENDING',
        fail_list: Array.from({ length: 3000 }, (_, i) => ({
          errcode: 710613,
          errmsg: 'x'.repeat(150),
          msgid: `M${i}`,
        })),
      };
      await expect(store.complete('huge', huge)).rejects.toThrow();
      expect(await store.get('huge')).toEqual({ kind: 'in_progress', fingerprint: 'fp' });
    });

    it.runIf(kind.purgesItself)('forgets keys once their expiry has passed, as DynamoDB TTL does', async () => {
      const now = T0 + 1_000_000_000;
      await store.claim('old', 'fp', now, { staleAfterMs: STALE_MS, expiresAt: Math.floor(now / 1000) + 10 });
      await store.claim('young', 'fp', now, { staleAfterMs: STALE_MS, expiresAt: Math.floor(now / 1000) + 11 });
      const purge = store.purgeExpired?.bind(store);
      if (!purge) throw new Error('a local adapter purges expired keys');
      await purge(now + 9_999);
      expect(await store.get('old')).toBeDefined();
      await purge(now + 10_000);
      expect(await store.get('old')).toBeUndefined();
      expect(await store.get('young')).toBeDefined();
    });
    // Issue 13: when the zone may hold a task we do not track, the key keeps that answer for good.
    it('keeps a settled failure with the key: a retry sees it, and cannot claim the key again before it expires', async () => {
      expect(await store.claim('settled', 'fp', T0, options(T0))).toEqual({ kind: 'claimed' });
      const failure = {
        error: 'task_not_recorded' as const,
        jobid: 'J+1/==',
        reason: 'the zone created task J+1/==, but it could not be recorded here',
      };
      await store.fail('settled', failure);
      expect(await store.get('settled')).toEqual({ kind: 'failed', fingerprint: 'fp', failure });
      expect(await store.claim('settled', 'fp', T0 + STALE_MS + 1, options(T0 + STALE_MS + 1))).toEqual({
        kind: 'failed',
        fingerprint: 'fp',
        failure,
      });
      // After the key's time-to-live it is a new key.
      const later = T0 + (TTL_SECONDS + 1) * 1000;
      expect(await store.claim('settled', 'fp', later, options(later))).toEqual({ kind: 'claimed' });
    });
  });
}
