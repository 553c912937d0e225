/**
 * One poll step of one task: the whole poll loop lives here. A step claims the task with a
 * conditional write, asks the zone once, then either finishes the task (conditional on the claimed
 * attempt, so a duplicate delivery can never write a second completion) or holds the same message
 * back until the next poll. It never sends a new message.
 */

import type { SQSRecord } from 'aws-lambda';
import type * as z from 'zod';
import { type CallBudget, isRateLimit, retryTime } from '../budget/port.js';
import { CorpNotServedError, DEAUTHORISED_TASK_ERRMSG } from '../corps/port.js';
import type { Log } from '../log.js';
import type { TaskMetrics } from '../metrics.js';
import { type CompletionNotifier, notifyCompletion } from '../notify/notifyCompletion.js';
import { SDK_CODE } from '../protocol/errcodes.js';
import { MAX_VISIBILITY_SECONDS, PollMessageSchema, type PollQueue } from '../queue/port.js';
import type { PollOwner, PollStep, TaskStore } from '../tasks/port.js';
import { storableOutcome } from '../tasks/recordSize.js';
import { isTerminal, type TaskOutcome, type TaskRecord } from '../tasks/task.js';
import type { ZoneClient } from '../zone/client.js';
import { ZoneConfigurationError, ZoneTransportError } from '../zone/errors.js';
import { classifyResult, type ResultClass, type ResultClassifier } from './classify.js';
import { nextWaitSeconds, type PollSchedule, transientBackoffSeconds } from './schedule.js';

export interface PollDependencies {
  store: TaskStore;
  /** Completion event and callback; none when unset. */
  notifier?: CompletionNotifier;
  metrics?: TaskMetrics;
  /** Per-corp call budget: a poll takes a call from it, or waits. */
  budget?: CallBudget;
  /** Refused polls resume spread over this many seconds after the window ends (no thundering herd). */
  budgetSpreadSeconds?: number;
  zone: ZoneClient;
  queue: PollQueue;
  schedule: PollSchedule;
  classifier: ResultClassifier;
  logger: Log;
  now?: () => number;
  random?: () => number;
}

/** `done`: delete the message. `waiting`: the message was held back; report it as a batch item failure. */
export type PollOutcome = 'done' | 'waiting';

/**
 * One delivery of a poll message. `receivedAt`: no later than when SQS handed it out (epoch ms); by
 * default the step's start less {@link RECEIPT_SLACK_MS}.
 */
export type PollRecord = Pick<SQSRecord, 'messageId' | 'receiptHandle' | 'body'> & {
  receivedAt?: number;
  /** SQS's ApproximateReceiveCount of this delivery, when the event source gives it. */
  attributes?: Partial<Pick<SQSRecord['attributes'], 'ApproximateReceiveCount'>>;
};

/**
 * How long before a step starts its message may have been received: Lambda's event source (batching
 * window 0) and the local one invoke right after ReceiveMessage; the margin keeps the 12 h sum safe.
 */
export const RECEIPT_SLACK_MS = 60_000;

/**
 * Seconds a message received at `receivedAt` may still be held at `at`. SQS counts a message's
 * visibility timeout from its receipt, at most 12 hours in all, and refuses a ChangeMessageVisibility
 * that would pass that ("you can't extend the timeout of a message ... to more than a total visibility
 * timeout of 12 hours", AWS SQS API Reference, ChangeMessageVisibility). So every hold is cut to what
 * is left of those 12 h, not merely to 43 200 s from now.
 */
export function holdableSeconds(receivedAt: number, at: number): number {
  return Math.max(0, MAX_VISIBILITY_SECONDS - Math.ceil((at - receivedAt) / 1000));
}

export async function pollTaskRecord(record: PollRecord, deps: PollDependencies): Promise<PollOutcome> {
  const now = deps.now ?? Date.now;
  if (record.receivedAt === undefined) record = { ...record, receivedAt: now() - RECEIPT_SLACK_MS };
  const message = parsePollMessage(record.body);
  if (message === undefined) {
    // A poison message would otherwise circle until the dead-letter queue; it carries no task.
    deps.logger.error('dropping a poll message that is not {"jobid": string}', { messageId: record.messageId });
    return 'done';
  }

  const { jobid, chain } = message;
  const claimedAt = now();
  const owner = pollOwnerOf(record);
  const leaseMs = deps.schedule.leaseSeconds * 1000;
  // The owner message polls without a claim: its receive count says which attempt this is.
  const owned = owner && owner.receives > 1 ? await ownedStep(jobid, chain, owner, deps) : undefined;
  let task: TaskRecord;
  let attempt: number;
  if (owned) {
    ({ task, attempt } = owned);
  } else {
    // The first receive, another copy of the message, or a message without a receive count: claim.
    const leaseUntil = claimedAt + (owner ? leaseMs + OWNER_HORIZON_SECONDS * 1000 : leaseMs);
    const claim = await deps.store.claimPoll(jobid, chain, claimedAt, leaseUntil, owner);
    if (!claim.claimed) return settleUnclaimed(claim.task, message, record, deps);
    task = claim.task;
    attempt = task.attempts;
  }
  const claimedStep = { attempt, now: claimedAt, owner };
  if (deps.budget) {
    const decision = await deps.budget.tryAcquire(task.corp_id, claimedAt);
    if (!decision.granted) {
      // Waits are clamped to the deadline, so a spent budget can delay a task's end but never prolong it.
      if (claimedAt >= task.deadline_at) {
        const outcome = {
          status: 'TIMED_OUT' as const,
          errmsg: 'deadline passed while the corp call budget was spent',
        };
        return finish(task, claimedStep, outcome, message, record, deps);
      }
      return waitForBudget(task, claimedStep, decision, record, deps);
    }
  }
  const answer = await askZone(task, deps);
  // WeCom says the corp is over its limit: the whole corp backs off for the rest of the window.
  if (answer.kind !== 'final' && isRateLimit(answer.errcode)) await deps.budget?.exhaust(task.corp_id, now());
  deps.metrics?.polled(answer.kind);
  const at = now();
  const step = { attempt, now: at, owner };

  if (answer.kind === 'final') return finish(task, step, answer.outcome, message, record, deps);
  if (at >= task.deadline_at || attempt >= deps.schedule.maxAttempts) {
    // `errcode` is for a zone that ended the task; the last not-final answer stays in `last_errcode`.
    const reason = at >= task.deadline_at ? 'deadline passed' : `no final result after ${attempt} polls`;
    const outcome = { status: 'TIMED_OUT' as const, errmsg: `${reason} (last answer ${answer.errcode})` };
    return finish(task, step, outcome, message, record, deps);
  }

  const ageSeconds = (at - Date.parse(task.created_at)) / 1000;
  const untilDeadline = Math.ceil((task.deadline_at - at) / 1000);
  const random = deps.random?.() ?? Math.random();
  const transientStreak = answer.kind === 'transient' ? (task.transient_streak ?? 0) + 1 : 0;
  const scheduled = nextWaitSeconds(deps.schedule, ageSeconds, random);
  const wanted =
    transientStreak > 0
      ? Math.max(scheduled, transientBackoffSeconds(deps.schedule, transientStreak - 1, random))
      : scheduled;
  const waitSeconds = Math.max(0, Math.min(wanted, untilDeadline, holdableSeconds(receivedAtOf(record, at), at)));
  const nextPollAt = at + waitSeconds * 1000;
  // An owner writes only when something changes: a transient streak starts or ends, or its next
  // poll would come too close to the horizon other copies and the sweeper wait for. A pending answer
  // like the last one changes nothing (its attempts and last answer are written with the next write).
  const mustWrite =
    !owner ||
    transientStreak > 0 ||
    (task.transient_streak ?? 0) > 0 ||
    nextPollAt + leaseMs > task.next_poll_at ||
    attempt - task.attempts >= OWNER_UNWRITTEN_POLLS;
  if (mustWrite) {
    const rescheduled = await deps.store.reschedule(jobid, {
      ...step,
      // At least two waits ahead: late in a long job, when each wait is long, one write covers two polls.
      nextPollAt: owner ? nextPollAt + leaseMs + Math.max(OWNER_HORIZON_SECONDS, 2 * waitSeconds) * 1000 : nextPollAt,
      lastErrcode: answer.errcode,
      transientStreak,
    });
    if (!rescheduled) return settleUnclaimed(await deps.store.get(jobid), message, record, deps);
  }
  await deps.queue.deferPoll(record.receiptHandle, waitSeconds);
  deps.logger.debug('task not finished; next poll scheduled', {
    jobid,
    attempt,
    errcode: answer.errcode,
    kind: answer.kind,
    waitSeconds,
  });
  return 'waiting';
}

/**
 * How far ahead of an owner's next poll its task's `next_poll_at` (the horizon) is set, at least
 * (and at least two of its waits): the owner writes once per horizon instead of once per poll. Another copy of the message waits that long
 * before it may take over, and the sweeper resumes a task whose owner message was lost that much
 * later (seconds; a lost message is rare: a failed first send or a dead-lettered message).
 */
export const OWNER_HORIZON_SECONDS = 600;

/**
 * An owner writes at least every this many polls, so the `attempts` a reader sees (GET /tasks) is
 * never more than this many polls behind.
 */
export const OWNER_UNWRITTEN_POLLS = 10;

/** SQS MessageIds are UUIDs; anything much longer is not kept in the record. */
const MAX_OWNER_ID_LENGTH = 128;

/** This delivery as its task's poll owner: its message id and receive count, when the event source gives them. */
function pollOwnerOf(record: PollRecord): PollOwner | undefined {
  const receives = Number(record.attributes?.ApproximateReceiveCount);
  if (!Number.isInteger(receives) || receives < 1) return undefined;
  if (record.messageId === '' || record.messageId.length > MAX_OWNER_ID_LENGTH) return undefined;
  return { messageId: record.messageId, receives };
}

/**
 * The step of the task's owner message, without a claim: one read shows the task is still pending,
 * of this chain and owned by this message; every receive since its last write was a poll (budget
 * waits write), so the attempt is the stored one plus the receives since. Undefined: claim instead.
 */
async function ownedStep(
  jobid: string,
  chain: number,
  owner: PollOwner,
  deps: PollDependencies,
): Promise<{ task: TaskRecord; attempt: number } | undefined> {
  const task = await deps.store.get(jobid);
  if (task?.status !== 'PENDING' || task.chain !== chain || task.poll_owner !== owner.messageId) return undefined;
  if (task.owner_receives === undefined || owner.receives <= task.owner_receives) return undefined;
  return { task, attempt: task.attempts + (owner.receives - task.owner_receives) };
}

/** The corp's budget is spent: the step gives its attempt back and the message waits for the next window. */
async function waitForBudget(
  task: TaskRecord,
  step: PollStep,
  decision: { retryAt: number; reason: 'budget' | 'rate_limited' },
  record: PollRecord,
  deps: PollDependencies,
): Promise<PollOutcome> {
  const resumeAt = Math.min(
    retryTime(decision, (deps.budgetSpreadSeconds ?? 20) * 1000, deps.random?.()),
    task.deadline_at,
  );
  const waitSeconds = Math.min(
    holdableSeconds(receivedAtOf(record, step.now), step.now),
    Math.max(1, Math.ceil((resumeAt - step.now) / 1000)),
  );
  // An owner keeps its horizon ahead of its next receive, as after a poll.
  const horizonMs = step.owner ? (deps.schedule.leaseSeconds + OWNER_HORIZON_SECONDS) * 1000 : 0;
  const released = await deps.store.releaseClaim(task.jobid, step, step.now + waitSeconds * 1000 + horizonMs);
  if (!released)
    return settleUnclaimed(await deps.store.get(task.jobid), { jobid: task.jobid, chain: task.chain }, record, deps);
  await deps.queue.deferPoll(record.receiptHandle, waitSeconds);
  deps.metrics?.budgetWait?.();
  const why =
    decision.reason === 'rate_limited'
      ? 'WeCom rate-limited the corp (45009 / 45033)'
      : "the corp's call budget is spent";
  deps.logger.debug(`${why}; waiting until a call fits`, {
    jobid: task.jobid,
    corpId: task.corp_id,
    reason: decision.reason,
    waitSeconds,
  });
  return 'waiting';
}

async function askZone(task: TaskRecord, deps: PollDependencies): Promise<ResultClass> {
  const { jobid } = task;
  try {
    return classifyResult(await deps.zone.getProgramTaskResult(jobid, task.corp_id), deps.classifier);
  } catch (error) {
    if (error instanceof CorpNotServedError) {
      // The corp cancelled the app (cancel_auth): its task can never be asked about again.
      if (error.code === 'corp_deauthorised')
        return { kind: 'final', outcome: { status: 'FAILED', errmsg: DEAUTHORISED_TASK_ERRMSG } };
      // Not in the directory (a wrong prefix, an entry removed by hand): kept, in case it comes back.
      deps.logger.error('the corp of a task is not served; will poll again', { jobid, corpId: task.corp_id });
      return { kind: 'transient', errcode: SDK_CODE.internal };
    }
    if (!(error instanceof ZoneTransportError)) throw error;
    // The transport's message is ours (what failed, what to fix), never the zone's or the request's text.
    const level = error instanceof ZoneConfigurationError ? 'error' : 'warn';
    deps.logger[level]('zone call failed; will poll again', {
      jobid,
      sdkCode: error.sdkCode,
      errcode: error.wecomErrcode,
      problem: error.message,
    });
    return { kind: 'transient', errcode: error.sdkCode };
  }
}

async function finish(
  task: TaskRecord,
  step: PollStep,
  outcome: TaskOutcome,
  message: ParsedPollMessage,
  record: PollRecord,
  deps: PollDependencies,
): Promise<PollOutcome> {
  // Sized to fit the record (DynamoDB's 400 KB): an outsized result ends FAILED, saying why, rather
  // than failing this write on every delivery until the deadline.
  outcome = storableOutcome(task, outcome);
  const written = await deps.store.finish(task.jobid, step, outcome);
  if (!written) return settleUnclaimed(await deps.store.get(task.jobid), message, record, deps);
  deps.metrics?.taskCompleted(outcome.status, step.now - Date.parse(task.created_at));
  deps.logger.info('task finished', {
    jobid: task.jobid,
    status: outcome.status,
    attempts: step.attempt,
    errcode: outcome.errcode,
    responseErrcode: outcome.response_errcode,
    failedMessages: outcome.fail_list?.length ?? 0,
    durationMs: step.now - Date.parse(task.created_at),
  });
  return announce(await deps.store.get(task.jobid), record, deps);
}

/** An ended task keeps its message until its completion has been announced (`notifyCompletion.ts`). */
async function announce(
  task: TaskRecord | undefined,
  record: PollRecord,
  deps: PollDependencies,
): Promise<PollOutcome> {
  if (!task || !deps.notifier) return 'done';
  const result = await notifyCompletion(task, deps);
  if (result.done) return 'done';
  const at = (deps.now ?? Date.now)();
  await deps.queue.deferPoll(
    record.receiptHandle,
    Math.min(result.retryInSeconds, holdableSeconds(receivedAtOf(record, at), at)),
  );
  return 'waiting';
}

/**
 * This delivery does not own the next step. An ended or unknown task, or a message of a chain the
 * sweeper has replaced, lets the message go; a pending task keeps it until its next poll is due, so
 * the task can never be orphaned by a dropped message (a duplicate copy then only ever loses the
 * claim, and never calls the zone).
 */
async function settleUnclaimed(
  task: TaskRecord | undefined,
  { jobid, chain }: ParsedPollMessage,
  record: PollRecord,
  deps: PollDependencies,
): Promise<PollOutcome> {
  if (!task) {
    deps.logger.warn('no task for this poll message; dropping it', { jobid, messageId: record.messageId });
    return 'done';
  }
  if (isTerminal(task.status)) return announce(task, record, deps);
  if (task.chain !== chain) {
    deps.logger.info('poll message of a replaced chain; dropping it', { jobid, chain, currentChain: task.chain });
    return 'done';
  }
  const now = (deps.now ?? Date.now)();
  const waitSeconds = Math.min(
    holdableSeconds(receivedAtOf(record, now), now),
    Math.max(1, Math.ceil((task.next_poll_at - now) / 1000)),
  );
  await deps.queue.deferPoll(record.receiptHandle, waitSeconds);
  deps.logger.debug('poll step not due or owned elsewhere; message held back', { jobid, waitSeconds });
  return 'waiting';
}

function receivedAtOf(record: PollRecord, at: number): number {
  return record.receivedAt ?? at - RECEIPT_SLACK_MS;
}

type ParsedPollMessage = z.output<typeof PollMessageSchema>;

function parsePollMessage(body: string): ParsedPollMessage | undefined {
  try {
    const parsed = PollMessageSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
