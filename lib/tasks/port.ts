/**
 * The ports of the tasks folder: the task store and the idempotency store. Each has a memory adapter
 * (tests, benchmarks), a SQLite adapter (`npm start`) and a DynamoDB adapter (AWS); the contract
 * suites in `test/contract/` hold every adapter to the same semantics.
 *
 * The task store: every change after creation is conditional, so a duplicate SQS delivery or a
 * concurrent poller can never fork a poll chain or write a second completion.
 */
import * as z from 'zod';
import {
  type NotificationFields,
  type SubmittedTask,
  SubmittedTaskSchema,
  type TaskOutcome,
  type TaskRecord,
} from './task.js';

export type ClaimResult =
  /** This poll step owns the task until `leaseUntil`; `task.attempts` is its attempt number. */
  | { claimed: true; task: TaskRecord }
  /** Someone else holds it, it is not due yet, it has ended, or it does not exist. */
  | { claimed: false; task: TaskRecord | undefined };

export interface TaskStore {
  /** Store a new task; rejects with {@link TaskExistsError} if the jobid is already stored. */
  create(task: TaskRecord): Promise<void>;
  get(jobid: string): Promise<TaskRecord | undefined>;
  /**
   * Claim the next poll step: succeeds only while the task is PENDING, its poll message is of the
   * current `chain`, and `next_poll_at <= now`. Increments `attempts`, moves `next_poll_at` to `leaseUntil`.
   * With `owner`, that message becomes the task's `poll_owner` (its later steps need no claim);
   * without, any owner is cleared.
   */
  claimPoll(jobid: string, chain: number, now: number, leaseUntil: number, owner?: PollOwner): Promise<ClaimResult>;
  /** The claimed step did not poll after all (budget spent): undo the attempt, wait until `nextPollAt`. */
  releaseClaim(jobid: string, step: PollStep, nextPollAt: number): Promise<boolean>;
  /** After a not-final answer: schedule the next poll. False if the step is stale. */
  reschedule(jobid: string, step: RescheduleStep): Promise<boolean>;
  /** Write the final state once. False if the step is stale or the task already ended. */
  finish(jobid: string, step: PollStep, outcome: TaskOutcome): Promise<boolean>;
  /** PENDING tasks whose next poll was due before `cutoff` (oldest first within a shard), at most `limit`. */
  findOverdue(cutoff: number, limit: number): Promise<TaskRecord[]>;
  /**
   * Start a new poll chain for an orphaned task: only if it is still PENDING with the `next_poll_at`
   * the sweeper saw (so nothing polled it meanwhile). Returns the new chain, or undefined.
   */
  resumeChain(jobid: string, seenNextPollAt: number, now: number): Promise<number | undefined>;
  /** Record progress of the completion notifications of an ended task. */
  recordNotification(jobid: string, fields: NotificationFields): Promise<void>;
}

/** Identifies one claimed poll step. */
export interface PollStep {
  attempt: number;
  now: number;
  /**
   * The step runs as the task's `poll_owner`: its writes are conditional on still being the owner
   * (not on `attempts`), and set `attempts` to `attempt` and `owner_receives` to its receive count.
   */
  owner?: PollOwner;
}

/** A poll message as the owner of its task's poll steps. */
export interface PollOwner {
  /** SQS MessageId (the same on every receive of the message). */
  messageId: string;
  /** SQS ApproximateReceiveCount of this receive. */
  receives: number;
}

export interface RescheduleStep extends PollStep {
  nextPollAt: number;
  /** The not-final answer: pending or transient errcode, or an SDK code. */
  lastErrcode: number;
  /** Consecutive transient answers so far (0 after a pending one): drives the backoff. */
  transientStreak: number;
}

/**
 * How a request ended when the zone may hold a task we do not track: its answer is kept with the key,
 * so a retry with the same key gets the same answer instead of creating another zone task.
 */
export const SettledFailureSchema = z.object({
  /** `zone_outcome_unknown`: the call failed after it was sent; `task_not_recorded`: created, not stored. */
  error: z.enum(['zone_outcome_unknown', 'task_not_recorded']),
  /** The zone's jobid, when it answered one. */
  jobid: z.string().optional(),
  errcode: z.int().optional(),
  /** What happened, as our own words (never the zone's errmsg, never request content). */
  reason: z.string(),
});
export type SettledFailure = z.infer<typeof SettledFailureSchema>;

/**
 * What a stored key says, whichever adapter stored it: `status` (IN_PROGRESS, COMPLETED, FAILED),
 * the first request's fingerprint, and the kept answer as JSON (the SubmittedTask of a COMPLETED key,
 * the SettledFailure of a FAILED one), parsed with their schemas. A key without its answer is still
 * in progress. Throws a ZodError or SyntaxError on a corrupt answer.
 */
export function storedClaim(status: string, fingerprint: string, answer: string | undefined): IdempotencyClaim {
  if (status === 'FAILED' && answer !== undefined) {
    return { kind: 'failed', fingerprint, failure: SettledFailureSchema.parse(JSON.parse(answer)) };
  }
  return status === 'COMPLETED' && answer !== undefined
    ? { kind: 'completed', fingerprint, response: SubmittedTaskSchema.parse(JSON.parse(answer)) }
    : { kind: 'in_progress', fingerprint };
}

export type IdempotencyClaim =
  /** This request owns the key: create the task, then complete, fail or release the key. */
  | { kind: 'claimed' }
  | { kind: 'completed'; fingerprint: string; response: SubmittedTask }
  /** The first request ended in a failure that must not be retried with this key. */
  | { kind: 'failed'; fingerprint: string; failure: SettledFailure }
  | { kind: 'in_progress'; fingerprint: string };

export interface IdempotencyStore {
  /**
   * Claim `key` unless a record exists; a record still IN_PROGRESS after `staleAfter` (its owner
   * died: longer than the create function's timeout) may be claimed again.
   */
  claim(
    key: string,
    fingerprint: string,
    now: number,
    options: { staleAfterMs: number; expiresAt: number },
  ): Promise<IdempotencyClaim>;
  get(key: string): Promise<IdempotencyClaim | undefined>;
  complete(key: string, response: SubmittedTask): Promise<void>;
  /** The request failed after the zone may have created a task: keep the answer with the key. */
  fail(key: string, failure: SettledFailure): Promise<void>;
  /** The request failed before a task existed: the key is free again. */
  release(key: string): Promise<void>;
}
