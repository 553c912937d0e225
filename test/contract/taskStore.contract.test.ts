/**
 * The task store port's contract, on every adapter: in memory, the durable SQLite store, and
 * DynamoDB (moto_server). Every step after creation is a conditional write; these are its conditions.
 */

import { beforeAll, describe, expect, it } from 'vitest';
import type { Expiring } from '../../lib/local/state.js';
import { DynamoTaskStore } from '../../lib/tasks/dynamoStore.js';
import { TaskExistsError } from '../../lib/tasks/errors.js';
import { MemoryTaskStore } from '../../lib/tasks/memoryStore.js';
import type { TaskStore } from '../../lib/tasks/port.js';
import { SqliteTaskStore } from '../../lib/tasks/sqliteStore.js';
import type { TaskRecord } from '../../lib/tasks/task.js';
import { taskRecord } from '../support/fixtures.js';
import { createTasksTable, dynamoClient } from '../support/moto.js';
import { type AdapterKind, AWS, MEMORY, race, SQLITE, tempDatabase } from './adapters.js';

const T0 = Date.parse('2026-11-25T00:00:00Z');

const adapters: { kind: AdapterKind; make: () => Promise<TaskStore & Partial<Expiring>> }[] = [
  { kind: MEMORY, make: async () => new MemoryTaskStore() },
  { kind: SQLITE, make: async () => new SqliteTaskStore(tempDatabase()) },
  {
    kind: AWS,
    make: async () => {
      const client = dynamoClient();
      return new DynamoTaskStore(client, await createTasksTable(client));
    },
  },
];

function task(jobid: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return taskRecord({
    jobid,
    escape_type: 1,
    message_count: 3,
    duplicate_list: [{ errcode: 710613, errmsg: 'msgid duplicated', msgid: 'M1' }],
    callback_url: 'https://example.com/done',
    ...overrides,
  });
}

const SUCCEEDED = {
  status: 'SUCCEEDED' as const,
  response_errcode: 0,
  response_data: '{"x":1}',
  fail_list: [{ errcode: 710603, errmsg: 'secret_key incorrect', msgid: 'M2' }],
};

for (const { kind, make } of adapters) {
  describe.skipIf(!kind.available)(`TaskStore contract on ${kind.name}`, () => {
    let store: TaskStore & Partial<Expiring>;
    beforeAll(async () => {
      store = await make();
    });

    it('stores a task once and reads it back exactly as written', async () => {
      await store.create(task('a'));
      expect(await store.get('a')).toEqual(task('a'));
      await expect(store.create(task('a', { attempts: 5 }))).rejects.toBeInstanceOf(TaskExistsError);
      expect((await store.get('a'))?.attempts).toBe(0);
      expect(await store.get('missing')).toBeUndefined();
    });

    it('claims a poll step only when it is due, on the current chain, once among concurrent claimers', async () => {
      await store.create(task('b'));
      expect(await store.claimPoll('b', 0, T0 + 1000, T0 + 61_000)).toMatchObject({
        claimed: false,
        task: { attempts: 0 },
      });
      expect((await store.claimPoll('b', 1, T0 + 2000, T0 + 62_000)).claimed).toBe(false);
      const claims = await race(8, () => store.claimPoll('b', 0, T0 + 2000, T0 + 62_000));
      expect(claims.filter((claim) => claim.claimed)).toHaveLength(1);
      expect(claims.find((claim) => claim.claimed)?.task).toMatchObject({
        attempts: 1,
        next_poll_at: T0 + 62_000,
        updated_at: new Date(T0 + 2000).toISOString(),
      });
      expect(await store.get('b')).toMatchObject({ attempts: 1, next_poll_at: T0 + 62_000 });
      // The losers see the task as it is now.
      expect(claims.find((claim) => !claim.claimed)?.task).toMatchObject({ attempts: 1 });
      expect(await store.claimPoll('nobody', 0, T0, T0 + 1)).toEqual({ claimed: false, task: undefined });
    });

    it('lets only the step that holds the current attempt reschedule or finish, and finishes once', async () => {
      await store.create(task('c'));
      await store.claimPoll('c', 0, T0 + 2000, T0 + 62_000);
      const step = { now: T0 + 2100, nextPollAt: T0 + 4000, lastErrcode: 45009, transientStreak: 2 };
      expect(await store.reschedule('c', { ...step, attempt: 0 })).toBe(false);
      expect(await store.reschedule('c', { ...step, attempt: 1 })).toBe(true);
      expect(await store.get('c')).toMatchObject({
        next_poll_at: T0 + 4000,
        last_errcode: 45009,
        transient_streak: 2,
        updated_at: new Date(T0 + 2100).toISOString(),
      });

      const finishes = await race(5, () => store.finish('c', { attempt: 1, now: T0 + 5000 }, SUCCEEDED));
      expect(finishes.filter(Boolean)).toHaveLength(1);
      const finished = await store.get('c');
      expect(finished).toMatchObject({
        ...SUCCEEDED,
        attempts: 1,
        completed_at: new Date(T0 + 5000).toISOString(),
        updated_at: new Date(T0 + 5000).toISOString(),
      });
      // The DynamoDB adapter's index shard is its own: never part of the record, PENDING or not.
      expect(finished).not.toHaveProperty('pending_shard');
      // Nothing moves an ended task: no claim, no second outcome, no reschedule.
      expect((await store.claimPoll('c', 0, T0 + 999_999, T0 + 1_000_000)).claimed).toBe(false);
      expect(
        await store.finish(
          'c',
          { attempt: 1, now: T0 + 6000 },
          { status: 'FAILED', errcode: 701151, errmsg: 'expired' },
        ),
      ).toBe(false);
      expect(await store.reschedule('c', { ...step, attempt: 1 })).toBe(false);
      expect(await store.get('c')).toEqual(finished);
      // A claim that loses to an ended task sees the record as it ended.
      expect(await store.claimPoll('c', 0, T0 + 999_999, T0 + 1_000_000)).toEqual({ claimed: false, task: finished });
    });

    it('changes nothing for a jobid it does not hold', async () => {
      const step = { attempt: 0, now: T0 };
      expect(await store.releaseClaim('ghost', step, T0 + 1)).toBe(false);
      expect(await store.reschedule('ghost', { ...step, nextPollAt: T0 + 1, lastErrcode: 1, transientStreak: 1 })).toBe(
        false,
      );
      expect(await store.finish('ghost', step, SUCCEEDED)).toBe(false);
      expect(await store.resumeChain('ghost', T0, T0 + 1)).toBeUndefined();
      expect(await store.get('ghost')).toBeUndefined();
    });

    it('hands out copies: changing a record it returned changes nothing stored', async () => {
      await store.create(task('copy'));
      const read = await store.get('copy');
      if (!read) throw new Error('stored task missing');
      read.attempts = 99;
      read.duplicate_list.push({ errcode: 1, errmsg: 'changed', msgid: 'X' });
      const claim = await store.claimPoll('copy', 0, T0 + 2000, T0 + 62_000);
      if (claim.task) claim.task.status = 'FAILED';
      expect(await store.get('copy')).toMatchObject({
        attempts: 1,
        status: 'PENDING',
        duplicate_list: task('copy').duplicate_list,
      });
    });

    it('gives a claimed attempt back (budget spent) only to the step that holds it', async () => {
      await store.create(task('r'));
      await store.claimPoll('r', 0, T0 + 2000, T0 + 62_000);
      expect(await store.releaseClaim('r', { attempt: 2, now: T0 + 2100 }, T0 + 60_000)).toBe(false);
      expect(await store.releaseClaim('r', { attempt: 1, now: T0 + 2100 }, T0 + 60_000)).toBe(true);
      expect(await store.get('r')).toMatchObject({ attempts: 0, next_poll_at: T0 + 60_000 });
      expect((await store.claimPoll('r', 0, T0 + 59_999, T0 + 120_000)).claimed).toBe(false);
      expect(await store.claimPoll('r', 0, T0 + 60_000, T0 + 120_000)).toMatchObject({
        claimed: true,
        task: { attempts: 1 },
      });
    });

    it('finds overdue PENDING tasks oldest first, resumes each once, and drops finished ones from the index', async () => {
      const ids = ['s1', 's2', 's3', 's4', 's5', 's6'];
      const base = T0 + 10_000_000;
      await Promise.all(ids.map((jobid, index) => store.create(task(jobid, { next_poll_at: base + index * 1000 }))));
      const overdue = (await store.findOverdue(base + 3500, 100)).filter((t) => ids.includes(t.jobid));
      expect(overdue.map((t) => t.jobid)).toEqual(['s1', 's2', 's3', 's4']);
      expect(overdue[0]).toEqual(task('s1', { next_poll_at: base }));
      expect(await store.findOverdue(base + 3500, 2)).toHaveLength(2);
      expect((await store.findOverdue(base + 3500, 2)).map((t) => t.next_poll_at)).toEqual(
        (await store.findOverdue(base + 3500, 100)).slice(0, 2).map((t) => t.next_poll_at),
      );

      const resumes = await race(3, () => store.resumeChain('s1', base, base + 10_000));
      expect(resumes.filter((chain) => chain !== undefined)).toEqual([1]);
      expect(await store.get('s1')).toMatchObject({ chain: 1, next_poll_at: base + 10_000 });
      // The sweeper saw an old next_poll_at: something polled it meanwhile.
      expect(await store.resumeChain('s3', base - 1, base + 10_000)).toBeUndefined();

      expect((await store.claimPoll('s2', 0, base + 5000, base + 6000)).claimed).toBe(true);
      expect(
        await store.finish(
          's2',
          { attempt: 1, now: base + 5000 },
          { status: 'FAILED', errcode: 701151, errmsg: 'expired' },
        ),
      ).toBe(true);
      expect((await store.findOverdue(base + 100_000, 100)).map((t) => t.jobid)).not.toContain('s2');
      expect(await store.resumeChain('s2', base + 6000, base + 10_000)).toBeUndefined();
      // A message of chain 0 can no longer claim a task on chain 1.
      expect((await store.claimPoll('s1', 0, base + 20_000, base + 21_000)).claimed).toBe(false);
      expect((await store.claimPoll('s1', 1, base + 20_000, base + 21_000)).claimed).toBe(true);
    });

    it('records notification progress on ended tasks only', async () => {
      await store.create(task('n'));
      await store.recordNotification('n', { event_published_at: 'early', event_attempts: 1 });
      expect((await store.get('n'))?.event_published_at).toBeUndefined();
      await store.claimPoll('n', 0, T0 + 2000, T0 + 62_000);
      await store.finish('n', { attempt: 1, now: T0 + 3000 }, SUCCEEDED);
      await store.recordNotification('n', { event_published_at: new Date(T0 + 3001).toISOString(), event_attempts: 1 });
      await store.recordNotification('n', { callback_attempts: 2 });
      await store.recordNotification('n', { callback_attempts: 3, callback_abandoned: true });
      expect(await store.get('n')).toMatchObject({
        status: 'SUCCEEDED',
        event_published_at: new Date(T0 + 3001).toISOString(),
        event_attempts: 1,
        callback_attempts: 3,
        callback_abandoned: true,
        response_data: '{"x":1}',
      });
      await store.recordNotification('missing', { callback_attempts: 1 });
      expect(await store.get('missing')).toBeUndefined();
    });

    it.runIf(kind.purgesItself)('deletes records once their expires_at has passed, as DynamoDB TTL does', async () => {
      const expiresAt = Math.floor(T0 / 1000) + 100;
      await store.create(task('old', { expires_at: expiresAt }));
      await store.create(task('young', { expires_at: expiresAt + 1 }));
      const purge = store.purgeExpired?.bind(store);
      if (!purge) throw new Error('a local adapter purges expired records');
      await purge(expiresAt * 1000 - 1);
      expect(await store.get('old')).toBeDefined();
      expect(await purge(expiresAt * 1000)).toBeGreaterThanOrEqual(1);
      expect(await store.get('old')).toBeUndefined();
      expect(await store.get('young')).toBeDefined();
    });
    // Issue 13: DynamoDB refuses an item over 400 KB (moto models it); the local stores refuse what it would.
    it('refuses a record over DynamoDB’s 400 KB item limit, at creation and at the finish write, and keeps the task as it was', async () => {
      const huge = 'x'.repeat(420_000);
      await expect(store.create(task('too-big', { program_id: huge }))).rejects.toThrow();
      expect(await store.get('too-big')).toBeUndefined();
      await store.create(task('big-end', { next_poll_at: T0 }));
      const claim = await store.claimPoll('big-end', 0, T0 + 1, T0 + 60_000);
      expect(claim.claimed).toBe(true);
      const step = { attempt: claim.task?.attempts ?? 0, now: T0 + 2 };
      await expect(
        store.finish('big-end', step, { status: 'SUCCEEDED', response_errcode: 0, response_data: huge }),
      ).rejects.toThrow();
      expect((await store.get('big-end'))?.response_data).toBeUndefined();
      // DynamoDB applies an update whole or not at all; moto applies the actions before the one that
      // overflows (here the status), so the rest is checked where the store itself decides.
      if (kind !== AWS) {
        expect(await store.get('big-end')).toMatchObject({ status: 'PENDING' });
        expect(
          await store.finish('big-end', step, {
            status: 'SUCCEEDED',
            response_errcode: 0,
            response_data: 'x'.repeat(300_000),
          }),
        ).toBe(true);
      }
    });
  });
}
