/**
 * The durable embedded task store (`npm start`): one row per jobid in the local SQLite database,
 * every step a single conditional `UPDATE … WHERE … RETURNING`, the same conditions as the DynamoDB
 * adapter's condition expressions. The fields the conditions test are columns; the rest of the
 * record is JSON, patched in the same statement.
 */
import type { LocalDatabase } from '../shared/database.js';
import { TaskExistsError } from './errors.js';
import { checkItemSize } from './itemSize.js';
import type { ClaimResult, PollStep, RescheduleStep, TaskStore } from './port.js';
import { type NotificationFields, type TaskOutcome, type TaskRecord, TaskRecordSchema } from './task.js';

interface TaskRow {
  jobid: string;
  status: string;
  attempts: number;
  chain: number;
  next_poll_at: number;
  /**
   * Set while PENDING, NULL once ended: marks the rows of the sweeper's partial index, as the
   * DynamoDB adapter's `pending_shard` does its sparse index. Not part of the record.
   */
  pending_shard: string | null;
  expires_at: number;
  record: string;
}

/** The record's fields kept as columns (the ones the conditions test). */
const COLUMNS = ['jobid', 'status', 'attempts', 'chain', 'next_poll_at', 'expires_at'] as const;

/** The value of `pending_shard` on a PENDING row (older data directories hold `P0`…`P7`: any non-NULL will do). */
const PENDING_MARK = 'P';

/** A row as the record it holds: parsed, so a row this code did not write is refused, not trusted. */
function toRecord(row: TaskRow): TaskRecord {
  const { pending_shard: _index, record, ...columns } = row;
  return TaskRecordSchema.parse({ ...JSON.parse(record), ...columns });
}

/** The JSON part of a record: everything but the columns, undefined fields left out. */
function recordJson(task: TaskRecord): string {
  const rest: Record<string, unknown> = { ...task };
  for (const column of COLUMNS) delete rest[column];
  return JSON.stringify(rest);
}

export class SqliteTaskStore implements TaskStore {
  constructor(readonly db: LocalDatabase) {}

  async create(task: TaskRecord): Promise<void> {
    // DynamoDB refuses an item over 400 KB; so does this store (`itemSize.ts`), so local runs fail where AWS would.
    checkItemSize(task);
    const { changes } = this.db.run(
      `INSERT INTO tasks (jobid, status, attempts, chain, next_poll_at, pending_shard, expires_at, record)
       VALUES (:jobid, :status, :attempts, :chain, :next_poll_at, :pending_shard, :expires_at, :record)
       ON CONFLICT (jobid) DO NOTHING`,
      {
        jobid: task.jobid,
        status: task.status,
        attempts: task.attempts,
        chain: task.chain,
        next_poll_at: task.next_poll_at,
        pending_shard: task.status === 'PENDING' ? PENDING_MARK : null,
        expires_at: task.expires_at,
        record: recordJson(task),
      },
    );
    if (changes === 0) throw new TaskExistsError(task.jobid);
  }

  async get(jobid: string): Promise<TaskRecord | undefined> {
    const row = this.db.get<TaskRow>('SELECT * FROM tasks WHERE jobid = :jobid', { jobid });
    return row && toRecord(row);
  }

  async claimPoll(jobid: string, chain: number, now: number, leaseUntil: number): Promise<ClaimResult> {
    const row = this.db.get<TaskRow>(
      `UPDATE tasks SET attempts = attempts + 1, next_poll_at = :lease, record = json_set(record, '$.updated_at', :at)
       WHERE jobid = :jobid AND status = 'PENDING' AND chain = :chain AND next_poll_at <= :now
       RETURNING *`,
      { jobid, chain, now, lease: leaseUntil, at: new Date(now).toISOString() },
    );
    if (row) return { claimed: true, task: toRecord(row) };
    return { claimed: false, task: await this.get(jobid) };
  }

  async releaseClaim(jobid: string, step: PollStep, nextPollAt: number): Promise<boolean> {
    return this.#stepUpdate(jobid, step, 'attempts = attempts - 1, next_poll_at = :next', { next: nextPollAt });
  }

  async reschedule(jobid: string, step: RescheduleStep): Promise<boolean> {
    const patch = {
      updated_at: new Date(step.now).toISOString(),
      last_errcode: step.lastErrcode,
      transient_streak: step.transientStreak,
    };
    return this.#stepUpdate(jobid, step, 'next_poll_at = :next, record = json_patch(record, :patch)', {
      next: step.nextPollAt,
      patch: JSON.stringify(patch),
    });
  }

  async finish(jobid: string, step: PollStep, outcome: TaskOutcome): Promise<boolean> {
    const at = new Date(step.now).toISOString();
    const current = await this.get(jobid);
    if (current) {
      checkItemSize({ ...current, ...outcome, updated_at: at, completed_at: at });
    }
    const { status, ...fields } = outcome;
    // json_patch replaces arrays (fail_list) whole and skips undefined fields, as the DynamoDB SET does.
    const patch = JSON.stringify({ ...fields, updated_at: at, completed_at: at });
    return this.#stepUpdate(
      jobid,
      step,
      'status = :status, pending_shard = NULL, record = json_patch(record, :patch)',
      {
        status,
        patch,
      },
    );
  }

  async findOverdue(cutoff: number, limit: number): Promise<TaskRecord[]> {
    return this.db
      .all<TaskRow>(
        'SELECT * FROM tasks WHERE pending_shard IS NOT NULL AND next_poll_at < :cutoff ORDER BY next_poll_at LIMIT :limit',
        {
          cutoff,
          limit,
        },
      )
      .map(toRecord);
  }

  async resumeChain(jobid: string, seenNextPollAt: number, now: number): Promise<number | undefined> {
    const row = this.db.get<{ chain: number }>(
      `UPDATE tasks SET chain = chain + 1, next_poll_at = :now, record = json_set(record, '$.updated_at', :at)
       WHERE jobid = :jobid AND status = 'PENDING' AND next_poll_at = :seen
       RETURNING chain`,
      { jobid, seen: seenNextPollAt, now, at: new Date(now).toISOString() },
    );
    return row?.chain;
  }

  async recordNotification(jobid: string, fields: NotificationFields): Promise<void> {
    const patch = JSON.stringify(fields);
    if (patch === '{}') return;
    this.db.run(`UPDATE tasks SET record = json_patch(record, :patch) WHERE jobid = :jobid AND status <> 'PENDING'`, {
      jobid,
      patch,
    });
  }

  /**
   * Delete the records whose `expires_at` (epoch seconds) has passed, as DynamoDB's TTL does on AWS.
   * In batches, so a large backlog never holds the database for long. Returns how many were deleted.
   */
  async purgeExpired(now: number): Promise<number> {
    return this.db.purgeExpired('tasks', 'jobid', Math.floor(now / 1000));
  }

  /** Records stored, expired or not. */
  count(): number {
    return this.db.get<{ n: number }>('SELECT count(*) AS n FROM tasks')?.n ?? 0;
  }

  /** An update allowed only to the poll step that holds the task's current attempt. */
  #stepUpdate(jobid: string, step: PollStep, assignments: string, values: Record<string, string | number>): boolean {
    const { changes } = this.db.run(
      `UPDATE tasks SET ${assignments} WHERE jobid = :jobid AND status = 'PENDING' AND attempts = :attempt`,
      { ...values, jobid, attempt: step.attempt },
    );
    return changes === 1;
  }
}
