/**
 * One poll step of one task: the whole poll loop lives here. A step claims the task with a
 * conditional write, asks the zone once, then either finishes the task (conditional on the claimed
 * attempt, so a duplicate delivery can never write a second completion) or holds the same message
 * back until the next poll. It never sends a new message.
 */
import type { SQSRecord } from 'aws-lambda';
import type * as z from 'zod';
import { type CallBudget, isRateLimit, retryTime } from '../budget/port.js';
import type { Log } from '../log.js';
import type { TaskMetrics } from '../metrics.js';
import { MAX_VISIBILITY_SECONDS, PollMessageSchema, type PollQueue } from '../queue/port.js';
import { type CompletionNotifier, notifyCompletion } from '../notify/notifyCompletion.js';
import type { TaskStore } from '../tasks/store.js';
import { isTerminal, type TaskOutcome, type TaskRecord } from '../tasks/task.js';
import type { ZoneClient } from '../zone/client.js';
import { ZoneConfigurationError, ZoneTransportError } from '../zone/port.js';
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

type PollRecord = Pick<SQSRecord, 'messageId' | 'receiptHandle' | 'body'>;

export async function pollTaskRecord(record: PollRecord, deps: PollDependencies): Promise<PollOutcome> {
  const now = deps.now ?? Date.now;
  const message = parsePollMessage(record.body);
  if (message === undefined) {
    // A poison message would otherwise circle until the dead-letter queue; it carries no task.
    deps.logger.error('dropping a poll message that is not {"jobid": string}', { messageId: record.messageId });
    return 'done';
  }

  const { jobid, chain } = message;
  const claimedAt = now();
  const claim = await deps.store.claimPoll(jobid, chain, claimedAt, claimedAt + deps.schedule.leaseSeconds * 1000);
  if (!claim.claimed) return settleUnclaimed(claim.task, message, record, deps);

  const task = claim.task;
  const attempt = task.attempts;
  if (deps.budget) {
    const decision = await deps.budget.tryAcquire(task.corp_id, claimedAt);
    if (!decision.granted) {
      // Waits are clamped to the deadline, so a spent budget can delay a task's end but never prolong it.
      if (claimedAt >= task.deadline_at) {
        const outcome = { status: 'TIMED_OUT' as const, errmsg: 'deadline passed while the corp call budget was spent' };
        return finish(task, { attempt, now: claimedAt }, outcome, message, record, deps);
      }
      return waitForBudget(task, { attempt, now: claimedAt }, decision, record, deps);
    }
  }
  const answer = await askZone(jobid, deps);
  // WeCom says the corp is over its limit: the whole corp backs off for the rest of the window.
  if (answer.kind !== 'final' && isRateLimit(answer.errcode)) await deps.budget?.exhaust(task.corp_id, now());
  deps.metrics?.polled(answer.kind);
  const at = now();
  const step = { attempt, now: at };

  if (answer.kind === 'final') return finish(task, step, storable(answer.outcome), message, record, deps);
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
  const wanted = transientStreak > 0 ? Math.max(scheduled, transientBackoffSeconds(deps.schedule, transientStreak - 1, random)) : scheduled;
  const waitSeconds = Math.max(0, Math.min(wanted, untilDeadline));
  const rescheduled = await deps.store.reschedule(jobid, {
    ...step,
    nextPollAt: at + waitSeconds * 1000,
    lastErrcode: answer.errcode,
    transientStreak,
  });
  if (!rescheduled) return settleUnclaimed(await deps.store.get(jobid), message, record, deps);
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

/** A task record holds at most 400 KB (DynamoDB's item limit): room for everything but an outsized output. */
export const MAX_RESPONSE_DATA_BYTES = 350_000;

/** An output too large to store ends the task FAILED (saying why), instead of failing every write. */
function storable(outcome: TaskOutcome): TaskOutcome {
  if (outcome.response_data === undefined || Buffer.byteLength(outcome.response_data) <= MAX_RESPONSE_DATA_BYTES) return outcome;
  const { response_data: _dropped, ...rest } = outcome;
  return { ...rest, status: 'FAILED', errmsg: `response_data exceeds the ${MAX_RESPONSE_DATA_BYTES} bytes a task record can hold` };
}

/** The corp's budget is spent: the step gives its attempt back and the message waits for the next window. */
async function waitForBudget(
  task: TaskRecord,
  step: { attempt: number; now: number },
  decision: { retryAt: number },
  record: PollRecord,
  deps: PollDependencies,
): Promise<PollOutcome> {
  const resumeAt = Math.min(retryTime(decision, (deps.budgetSpreadSeconds ?? 20) * 1000, deps.random?.()), task.deadline_at);
  const waitSeconds = Math.min(MAX_VISIBILITY_SECONDS, Math.max(1, Math.ceil((resumeAt - step.now) / 1000)));
  const released = await deps.store.releaseClaim(task.jobid, step, step.now + waitSeconds * 1000);
  if (!released) return settleUnclaimed(await deps.store.get(task.jobid), { jobid: task.jobid, chain: task.chain }, record, deps);
  await deps.queue.deferPoll(record.receiptHandle, waitSeconds);
  deps.metrics?.budgetWait?.();
  deps.logger.debug('corp call budget spent; waiting for the next window', { jobid: task.jobid, corpId: task.corp_id, waitSeconds });
  return 'waiting';
}

async function askZone(jobid: string, deps: PollDependencies): Promise<ResultClass> {
  try {
    return classifyResult(await deps.zone.getProgramTaskResult(jobid), deps.classifier);
  } catch (error) {
    if (!(error instanceof ZoneTransportError)) throw error;
    // The transport's message is ours (what failed, what to fix), never the zone's or the request's text.
    const level = error instanceof ZoneConfigurationError ? 'error' : 'warn';
    deps.logger[level]('zone call failed; will poll again', { jobid, sdkCode: error.sdkCode, errcode: error.wecomErrcode, problem: error.message });
    return { kind: 'transient', errcode: error.sdkCode };
  }
}

async function finish(
  task: TaskRecord,
  step: { attempt: number; now: number },
  outcome: TaskOutcome,
  message: ParsedPollMessage,
  record: PollRecord,
  deps: PollDependencies,
): Promise<PollOutcome> {
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
async function announce(task: TaskRecord | undefined, record: PollRecord, deps: PollDependencies): Promise<PollOutcome> {
  if (!task || !deps.notifier) return 'done';
  const result = await notifyCompletion(task, deps);
  if (result.done) return 'done';
  await deps.queue.deferPoll(record.receiptHandle, result.retryInSeconds);
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
  const waitSeconds = Math.min(MAX_VISIBILITY_SECONDS, Math.max(1, Math.ceil((task.next_poll_at - now) / 1000)));
  await deps.queue.deferPoll(record.receiptHandle, waitSeconds);
  deps.logger.debug('poll step not due or owned elsewhere; message held back', { jobid, waitSeconds });
  return 'waiting';
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

