/**
 * The embedded task store for one process (`npm start`, tests). Same conditional semantics as the
 * DynamoDB adapter, and the same 400 KB item limit (`itemSize.ts`); records are copied in and out so
 * callers cannot mutate stored state.
 */
import { TaskExistsError } from './errors.js';
import { checkItemSize } from './itemSize.js';
import type { ClaimResult, PollStep, RescheduleStep, TaskStore } from './port.js';
import type { NotificationFields, TaskOutcome, TaskRecord } from './task.js';

export class MemoryTaskStore implements TaskStore {
  readonly #tasks = new Map<string, TaskRecord>();

  async create(task: TaskRecord): Promise<void> {
    if (this.#tasks.has(task.jobid)) throw new TaskExistsError(task.jobid);
    checkItemSize(task);
    this.#tasks.set(task.jobid, structuredClone(task));
  }

  async get(jobid: string): Promise<TaskRecord | undefined> {
    const task = this.#tasks.get(jobid);
    return task && structuredClone(task);
  }

  async claimPoll(jobid: string, chain: number, now: number, leaseUntil: number): Promise<ClaimResult> {
    const task = this.#tasks.get(jobid);
    if (task?.status !== 'PENDING' || task.chain !== chain || task.next_poll_at > now) {
      return { claimed: false, task: task && structuredClone(task) };
    }
    task.attempts += 1;
    task.next_poll_at = leaseUntil;
    task.updated_at = new Date(now).toISOString();
    return { claimed: true, task: structuredClone(task) };
  }

  async releaseClaim(jobid: string, step: PollStep, nextPollAt: number): Promise<boolean> {
    const task = this.#ownedPending(jobid, step);
    if (!task) return false;
    task.attempts -= 1;
    task.next_poll_at = nextPollAt;
    return true;
  }

  async reschedule(jobid: string, step: RescheduleStep): Promise<boolean> {
    const task = this.#ownedPending(jobid, step);
    if (!task) return false;
    task.next_poll_at = step.nextPollAt;
    task.updated_at = new Date(step.now).toISOString();
    task.last_errcode = step.lastErrcode;
    task.transient_streak = step.transientStreak;
    return true;
  }

  async finish(jobid: string, step: PollStep, outcome: TaskOutcome): Promise<boolean> {
    const task = this.#ownedPending(jobid, step);
    if (!task) return false;
    const at = new Date(step.now).toISOString();
    const finished: TaskRecord = { ...task, ...structuredClone(outcome), updated_at: at, completed_at: at };
    checkItemSize(finished);
    Object.assign(task, finished);
    return true;
  }

  async findOverdue(cutoff: number, limit: number): Promise<TaskRecord[]> {
    return [...this.#tasks.values()]
      .filter((task) => task.status === 'PENDING' && task.next_poll_at < cutoff)
      .sort((a, b) => a.next_poll_at - b.next_poll_at)
      .slice(0, limit)
      .map((task) => structuredClone(task));
  }

  async resumeChain(jobid: string, seenNextPollAt: number, now: number): Promise<number | undefined> {
    const task = this.#tasks.get(jobid);
    if (task?.status !== 'PENDING' || task.next_poll_at !== seenNextPollAt) return undefined;
    task.chain += 1;
    task.next_poll_at = now;
    task.updated_at = new Date(now).toISOString();
    return task.chain;
  }

  async recordNotification(jobid: string, fields: NotificationFields): Promise<void> {
    const task = this.#tasks.get(jobid);
    if (task && task.status !== 'PENDING') Object.assign(task, structuredClone(fields));
  }

  /**
   * Delete the records whose `expires_at` (epoch seconds) has passed, as DynamoDB's TTL does on AWS.
   * Returns how many were deleted.
   */
  async purgeExpired(now: number): Promise<number> {
    const nowSeconds = Math.floor(now / 1000);
    let deleted = 0;
    for (const [jobid, task] of this.#tasks) {
      if (task.expires_at > nowSeconds) continue;
      this.#tasks.delete(jobid);
      deleted += 1;
    }
    return deleted;
  }

  /** Every stored record, for tests that scan what was written. */
  snapshot(): TaskRecord[] {
    return [...this.#tasks.values()].map((task) => structuredClone(task));
  }

  #ownedPending(jobid: string, step: PollStep): TaskRecord | undefined {
    const task = this.#tasks.get(jobid);
    return task && task.status === 'PENDING' && task.attempts === step.attempt ? task : undefined;
  }
}
