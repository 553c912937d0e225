/**
 * The durable local state itself: what survives closing and reopening the data directory, who may
 * open it, and what expires. (What each adapter must do, the same as on AWS, is in test/contract/.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteCallBudget } from '../../lib/budget/sqliteBudget.js';
import { openLocalState } from '../../lib/local/state.js';
import { MemoryCompletionPublisher } from '../../lib/notify/completion.js';
import { EmbeddedQueue, SENT_LOG_SIZE } from '../../lib/queue/embeddedQueue.js';
import { sqliteQueue } from '../../lib/queue/sqliteQueue.js';
import { DATABASE_FILE, DataDirError, LocalDatabase } from '../../lib/shared/database.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { DOC_EXAMPLE_REQUEST, taskRecord } from '../support/fixtures.js';

const dirs: string[] = [];
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wzt-state-'));
  dirs.push(dir);
  return dir;
}

const T0 = Date.parse('2026-11-25T00:00:00Z');

describe('the durable local state', () => {
  it('keeps tasks, idempotency keys, budgets, queued and dead-lettered messages across a reopen', async () => {
    const dir = dataDir();
    const windows = [{ seconds: 60, limit: 1 }];
    const queueOptions = { maxReceiveCount: 2, msPerSecond: 10 };
    const first = openLocalState({ dataDir: dir, budgetWindows: windows, queue: queueOptions });
    await first.store.create(taskRecord({ jobid: 'kept' }));
    await first.store.claimPoll('kept', 0, T0 + 2000, T0 + 62_000);
    await first.idempotency.claim('key', 'fp', T0, { staleAfterMs: 30_000, expiresAt: Math.floor(T0 / 1000) + 86_400 });
    await first.idempotency.complete('key', { jobid: 'kept', status: 'PENDING', fail_list: [] });
    expect((await first.budget?.tryAcquire('corp', T0))?.granted).toBe(true);
    await first.queue.sendPoll({ jobid: 'waiting' }, 0);
    await first.queue.sendPoll({ jobid: 'in-flight' }, 0);
    await first.queue.sendPoll({ jobid: 'dead' }, 0);
    const received = await first.queue.receive(10, 0);
    const byJob = new Map(received.map((record) => [JSON.parse(record.body).jobid as string, record]));
    // One held back on purpose (a scheduled wait), one left in flight (its consumer then dies).
    await first.queue.deferPoll(byJob.get('waiting')?.receiptHandle ?? '', 900);
    await first.queue.deferPoll(byJob.get('dead')?.receiptHandle ?? '', 0);
    const [deadAgain] = await first.queue.receive(10, 0);
    await first.queue.deferPoll(deadAgain?.receiptHandle ?? '', 0);
    expect(await first.queue.receive(10, 0)).toEqual([]);
    expect(first.queue.deadLetters.map((letter) => JSON.parse(letter.body))).toEqual([{ jobid: 'dead' }]);
    first.close();

    const second = openLocalState({ dataDir: dir, budgetWindows: windows, queue: queueOptions });
    cleanups.push(() => second.close());
    expect(await second.store.get('kept')).toMatchObject({ jobid: 'kept', attempts: 1, next_poll_at: T0 + 62_000 });
    expect(await second.idempotency.get('key')).toMatchObject({ kind: 'completed', response: { jobid: 'kept' } });
    // Sliding windows: the call of the first run keeps its place until it leaves the window (61 buckets of 1 s).
    expect(await second.budget?.tryAcquire('corp', T0 + 1)).toEqual({
      granted: false,
      retryAt: T0 + 61_000,
      reason: 'budget',
    });
    expect(second.queue.size).toBe(2);
    expect(second.queue.deadLetters.map((letter) => letter.body)).toEqual(['{"jobid":"dead"}']);
    // The in-flight message of the stopped process is back at once; the held-back one keeps its wait.
    expect(second.recoveredMessages).toBe(1);
    const [recovered] = await second.queue.receive(10, 0);
    expect(JSON.parse(recovered?.body ?? '')).toEqual({ jobid: 'in-flight' });
    expect(recovered?.attributes.ApproximateReceiveCount).toBe('2');
    expect(await second.queue.receive(10, 0)).toEqual([]);
  });

  it('refuses a second owner of the same data directory, and opens again once the first closed', () => {
    const dir = dataDir();
    const owner = LocalDatabase.open({ dataDir: dir });
    let refusal: unknown;
    try {
      LocalDatabase.open({ dataDir: dir }).close();
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(DataDirError);
    expect((refusal as Error).message).toMatch(/DATA_DIR .* is in use by another process/);
    owner.close();
    const next = LocalDatabase.open({ dataDir: dir, sync: 'full' });
    next.close();
  });

  it('names the directory when it cannot be created', () => {
    const file = join(dataDir(), 'file');
    LocalDatabase.open({ dataDir: file }).close();
    expect(() => LocalDatabase.open({ dataDir: join(file, 'wecom-zone-tasks.sqlite', 'below') })).toThrow(
      /DATA_DIR .*below: cannot be created/,
    );
  });

  it('drops messages after the queue retention and dead letters after the dead-letter retention, as SQS does', async () => {
    for (const make of [
      () => new EmbeddedQueue({ retentionSeconds: 100, deadLetterRetentionSeconds: 200, maxReceiveCount: 1 }),
      () => {
        const db = LocalDatabase.open({ dataDir: dataDir() });
        cleanups.push(() => db.close());
        return sqliteQueue(db, { retentionSeconds: 100, deadLetterRetentionSeconds: 200, maxReceiveCount: 1 }).queue;
      },
    ]) {
      const queue = make();
      const sentAt = Date.now();
      await queue.sendPoll({ jobid: 'a' }, 0);
      await queue.sendPoll({ jobid: 'dead' }, 0);
      const [, dead] = await queue.receive(10, 0);
      await queue.deferPoll(dead?.receiptHandle ?? '', 0);
      await queue.receive(10, 0);
      expect(queue.deadLetters).toHaveLength(1);
      expect(await queue.purgeExpired(sentAt + 99_000)).toBe(0);
      expect(await queue.purgeExpired(sentAt + 101_000)).toBe(1);
      expect(queue.size).toBe(0);
      expect(queue.deadLetters).toHaveLength(1);
      expect(await queue.purgeExpired(sentAt + 201_000)).toBe(1);
      expect(queue.deadLetters).toHaveLength(0);
    }
  });

  it('deletes budget counters a day after their window, as DynamoDB TTL does', async () => {
    const db = LocalDatabase.open({ dataDir: dataDir() });
    cleanups.push(() => db.close());
    const budget = new SqliteCallBudget(db, [{ seconds: 60, limit: 5 }]);
    await budget.tryAcquire('corp', T0);
    const count = () => db.get<{ n: number }>('SELECT count(*) AS n FROM budget')?.n;
    expect(count()).toBe(1);
    expect(await budget.purgeExpired(T0 + 60_000 + 86_399_000)).toBe(0);
    expect(await budget.purgeExpired(T0 + 60_000 + 86_400_000)).toBe(1);
    expect(count()).toBe(0);
  });
});

describe('a long-running local stack stays flat', () => {
  it('keeps a bounded log of recent sends and completion events', async () => {
    const queue = new EmbeddedQueue();
    for (let i = 0; i < SENT_LOG_SIZE * 2 + 5; i++) queue.sendRaw(`{"jobid":"j${i}"}`);
    expect(queue.sentCount).toBe(SENT_LOG_SIZE * 2 + 5);
    expect(queue.sent.length).toBeLessThanOrEqual(SENT_LOG_SIZE);
    expect(queue.sent.at(-1)?.body).toBe(`{"jobid":"j${SENT_LOG_SIZE * 2 + 4}"}`);
    const events = new MemoryCompletionPublisher(100);
    for (let i = 0; i < 1000; i++) await events.publish({ jobid: `j${i}` } as never);
    expect(events.published.length).toBeLessThanOrEqual(100);
    expect(events.published.at(-1)?.jobid).toBe('j999');
  });

  it('the emulator forgets jobs past its retention, also jobs nobody polls again', () => {
    let now = T0;
    const zone = new ZoneEmulator({
      archive: SAMPLE_ARCHIVE,
      programs: samplePrograms(0),
      retentionSeconds: 60,
      now: () => now,
    });
    for (let i = 0; i < 50; i++) zone.createProgramTask(DOC_EXAMPLE_REQUEST);
    expect(zone.jobCount).toBe(50);
    now += 30_000;
    const young = zone.createProgramTask(DOC_EXAMPLE_REQUEST);
    expect(zone.jobCount).toBe(51);
    now += 30_001;
    zone.createProgramTask(DOC_EXAMPLE_REQUEST);
    // The first 50 are past 60 s and gone; the one from 30 s later and the new one stay.
    expect(zone.jobCount).toBe(2);
    expect(zone.getProgramTaskResult({ jobid: young.jobid }).errcode).not.toBe(701151);
  });
});

describe('the durable local state, written by an older version', () => {
  // Schema 2 (issue 13): the call budget is a sliding window per corp, no longer a counter per fixed window.
  it('a data directory of schema 1 opens: the fixed-window budget counters are dropped, the rest kept, the budget works', async () => {
    const dir = dataDir();
    const old = new DatabaseSync(join(dir, DATABASE_FILE));
    old.exec(`CREATE TABLE budget (counter_key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO budget VALUES ('budget#corp#60#${T0}', 7, 9999999999);
      CREATE TABLE idempotency (idempotency_key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, status TEXT NOT NULL, claimed_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, response TEXT) WITHOUT ROWID;
      INSERT INTO idempotency VALUES ('key', 'fp', 'COMPLETED', ${T0}, 9999999999, '{"jobid":"kept","status":"PENDING","fail_list":[]}');
      PRAGMA user_version = 1;`);
    old.close();
    const state = openLocalState({ dataDir: dir, budgetWindows: [{ seconds: 60, limit: 1 }] });
    cleanups.push(() => state.close());
    expect(await state.idempotency.get('key')).toMatchObject({ kind: 'completed', response: { jobid: 'kept' } });
    expect(await state.budget?.tryAcquire('corp', T0)).toEqual({ granted: true });
    expect(await state.budget?.tryAcquire('corp', T0 + 1)).toEqual({
      granted: false,
      retryAt: T0 + 61_000,
      reason: 'budget',
    });
  });
});
