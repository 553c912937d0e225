/**
 * Creating a task: the zone creates it, we store the record (never a key), then send the task's one
 * and only poll message.
 */

import { type CallBudget, DEFAULT_CORP_ID, isRateLimit } from '../budget/port.js';
import { type CorpGate, CorpNotServedError } from '../corps/port.js';
import type { Log } from '../log.js';
import { errorKind } from '../log.js';
import type { TaskMetrics } from '../metrics.js';
import type { ResultClassifier } from '../poll/classify.js';
import type { PollSchedule } from '../poll/schedule.js';
import { SDK_CODE } from '../protocol/errcodes.js';
import type { CreateProgramTaskRequest, CreateProgramTaskResponse } from '../protocol/zone.js';
import type { PollQueue } from '../queue/port.js';
import { TaskExistsError } from '../tasks/errors.js';
import { jobidProblem } from '../tasks/jobid.js';
import type { SettledFailure, TaskStore } from '../tasks/port.js';
import { checkRecordFits, storedFailList } from '../tasks/recordSize.js';
import type { SubmittedTask, TaskRecord } from '../tasks/task.js';
import type { ZoneClient } from '../zone/client.js';
import { ZoneConfigurationError, ZoneTransportError } from '../zone/errors.js';
import {
  BudgetSpentError,
  TaskNotRecordedError,
  ZoneRateLimitedError,
  ZoneRejectedError,
  ZoneUnavailableError,
} from './errors.js';

export interface SubmitDependencies {
  zone: ZoneClient;
  store: TaskStore;
  queue: PollQueue;
  schedule: PollSchedule;
  classifier: ResultClassifier;
  logger: Log;
  /** How long finished records are kept (DynamoDB TTL). */
  retentionSeconds: number;
  metrics?: TaskMetrics;
  /** Per-corp call budget; every create takes a call from it. */
  budget?: CallBudget;
  /** The corp of a task whose request names none. */
  defaultCorpId?: string;
  /**
   * The corps this deployment serves (WeCom transports): a request's corp is admitted (or refused
   * with {@link CorpNotServedError}) before anything is called. None: any corp id (a budget key only).
   */
  corps?: CorpGate;
  /** Retries of a create the zone answered busy (-1, 45009, 45033); default 2. */
  createRetries?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** The 202 answer: jobid, `PENDING`, and the duplicated msgids the zone dropped (without their keys). */
export type { SubmittedTask } from '../tasks/task.js';

/**
 * Ask the zone to create the task. A busy answer means nothing was created, so it is retried with
 * backoff and jitter, briefly (API Gateway gives up at 29 s). A transport failure is not retried:
 * the zone may have created the task before the connection failed, and creation is not idempotent
 * at the zone; the client decides (with an Idempotency-Key, a retry is safe on our side). A rate
 * limit (45009 / 45033) is not retried either: the corp backs off for a minute.
 */
async function createInZone(
  request: CreateProgramTaskRequest,
  corpId: string,
  deps: SubmitDependencies,
): Promise<CreateProgramTaskResponse> {
  const retries = deps.createRetries ?? 2;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = deps.now ?? Date.now;
  for (let attempt = 0; ; attempt++) {
    if (deps.budget) {
      const decision = await deps.budget.tryAcquire(corpId, now());
      if (!decision.granted) {
        throw decision.reason === 'rate_limited'
          ? new ZoneRateLimitedError(decision.retryAt)
          : new BudgetSpentError(decision.retryAt);
      }
    }
    let response: CreateProgramTaskResponse;
    try {
      response = await deps.zone.createProgramTask(request, corpId);
    } catch (error) {
      // Cancelled between admission and the call: nothing was sent.
      if (error instanceof CorpNotServedError) throw error;
      if (error instanceof ZoneTransportError) {
        // WeCom refused the call for the corp's rate (gettoken or the zone call answered 45009 / 45033 before acting).
        if (error.wecomErrcode !== undefined && isRateLimit(error.wecomErrcode) && error.reach === 'not_sent') {
          const at = now();
          await deps.budget?.exhaust(corpId, at);
          throw new ZoneRateLimitedError(at + 60_000, error.wecomErrcode);
        }
        throw new ZoneUnavailableError(error.wecomErrcode ?? error.sdkCode, error.message, error.reach, {
          message: error.message,
          misconfigured: error instanceof ZoneConfigurationError,
        });
      }
      // Not one of ours: the request may have been sent, so whether the zone acted is unknown.
      throw new ZoneUnavailableError(SDK_CODE.internal, `the zone call failed (${errorKind(error)})`, 'unknown', {
        message: `the zone call failed (${errorKind(error)})`,
        misconfigured: false,
      });
    }
    if (response.errcode === 0) return response;
    if (isRateLimit(response.errcode)) {
      // WeCom says the corp is over its limit: the whole corp backs off for a minute, this request too.
      const at = now();
      await deps.budget?.exhaust(corpId, at);
      throw new ZoneRateLimitedError(at + 60_000, response.errcode);
    }
    const transient = deps.classifier.transientErrcodes.has(response.errcode);
    if (!transient) throw new ZoneRejectedError(response.errcode, response.errmsg);
    if (attempt >= retries) throw new ZoneUnavailableError(response.errcode, response.errmsg);
    await sleep(200 * 2 ** attempt * (0.5 + Math.random() / 2));
  }
}

/** Attempts at storing a created task's record before the request reports it untracked. */
const RECORD_ATTEMPTS = 3;

/**
 * Store the record of a task the zone has created. Never throws anything but
 * {@link TaskNotRecordedError}: after this point a failure must say that the zone task exists.
 */
async function recordCreated(
  request: CreateProgramTaskRequest,
  response: CreateProgramTaskResponse,
  corpId: string,
  deps: SubmitDependencies,
  options: { callbackUrl?: string },
): Promise<TaskRecord> {
  const jobid = response.jobid;
  if (jobid === undefined || jobid === '')
    throw new TaskNotRecordedError(undefined, 'the zone answered success without a jobid');
  const problem = jobidProblem(jobid);
  // The jobid is not echoed when it is the problem (it may hold control characters).
  if (problem !== undefined) throw new TaskNotRecordedError(undefined, `the zone's jobid ${problem}`);
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const createdAt = now();
  const task: TaskRecord = {
    jobid,
    status: 'PENDING',
    program_id: request.program_id,
    ability_id: request.ability_id,
    corp_id: corpId,
    escape_type: request.escape_type,
    message_count: new Set(request.msg_list.map((message) => message.msgid)).size,
    duplicate_list: storedFailList(response.fail_list),
    attempts: 0,
    chain: 0,
    created_at: new Date(createdAt).toISOString(),
    updated_at: new Date(createdAt).toISOString(),
    next_poll_at: createdAt + deps.schedule.firstDelaySeconds * 1000,
    deadline_at: createdAt + deps.schedule.deadlineSeconds * 1000,
    expires_at: Math.floor(createdAt / 1000) + deps.schedule.deadlineSeconds + deps.retentionSeconds,
    callback_url: options.callbackUrl,
  };
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.store.create(task);
      return task;
    } catch (error) {
      if (error instanceof TaskExistsError)
        throw new TaskNotRecordedError(jobid, 'a task with this jobid is already recorded');
      deps.logger.error('task record not written', { jobid, attempt, error: errorKind(error) });
      if (attempt >= RECORD_ATTEMPTS)
        throw new TaskNotRecordedError(jobid, `the task store failed: ${errorKind(error)}`);
      await sleep(100 * 3 ** (attempt - 1));
    }
  }
}

/**
 * Create a task: check its record will fit, ask the zone, record it, send its poll message.
 *
 * @throws {CorpNotServedError} before the zone is called: no corp named while several are served, or the corp is unknown or deauthorised
 * @throws {TaskTooLargeError} before the zone is called, when the task's record could outgrow DynamoDB's item limit
 * @throws {BudgetSpentError} / {ZoneRateLimitedError} / {ZoneRejectedError} / {ZoneUnavailableError}: nothing created, or (reach `unknown`) maybe created
 * @throws {TaskNotRecordedError} the zone created the task but it could not be recorded
 */
export async function submitTask(
  request: CreateProgramTaskRequest,
  deps: SubmitDependencies,
  options: { callbackUrl?: string; corpId?: string } = {},
): Promise<SubmittedTask> {
  const corpId = deps.corps
    ? await deps.corps.admit(options.corpId)
    : (options.corpId ?? deps.defaultCorpId ?? DEFAULT_CORP_ID);
  checkRecordFits(request, { callbackUrl: options.callbackUrl, corpId });
  const response = await createInZone(request, corpId, deps);
  const task = await recordCreated(request, response, corpId, deps, options);
  // From here on the task is recorded: nothing may turn the answer into an error (a 5xx would make
  // the client create a second zone task).
  await afterRecorded(task, deps);
  return { jobid: task.jobid, status: 'PENDING', fail_list: task.duplicate_list };
}

/** The recorded task's poll message, metric and log line; a failure of any is logged, never thrown. */
async function afterRecorded(task: TaskRecord, deps: SubmitDependencies): Promise<void> {
  const attempt = async (failed: string, step: () => unknown) => {
    try {
      await step();
    } catch (error) {
      try {
        deps.logger.error(failed, { jobid: task.jobid, error: errorKind(error) });
      } catch {
        // Not even a log line: the answer still stands.
      }
    }
  };
  await attempt('task metric not counted', () => deps.metrics?.taskCreated());
  // If the message is lost the record keeps next_poll_at, and the sweeper resumes the task once it is overdue.
  await attempt('first poll message not sent; the sweeper will resume the task', () =>
    deps.queue.sendPoll({ jobid: task.jobid, chain: task.chain }, deps.schedule.firstDelaySeconds),
  );
  await attempt('task created, but not logged', () =>
    deps.logger.info('task created', {
      jobid: task.jobid,
      programId: task.program_id,
      abilityId: task.ability_id,
      messages: task.message_count,
      duplicates: task.duplicate_list.length,
      escapeType: task.escape_type,
    }),
  );
}

/**
 * The errors after which the zone may hold a task this service does not track: their answer stays
 * with the Idempotency-Key (`createOnce`), so a retry with the key repeats it instead of creating a
 * second zone task.
 */
export function settledFailureOf(error: unknown): SettledFailure | undefined {
  if (error instanceof TaskNotRecordedError)
    return { error: 'task_not_recorded', jobid: error.jobid, reason: error.message };
  if (error instanceof ZoneUnavailableError && error.reach === 'unknown') {
    // Our own account of what failed (never the zone's text): the replay answers with the same words.
    return { error: 'zone_outcome_unknown', errcode: error.errcode, reason: error.detail?.message ?? '' };
  }
  return undefined;
}

/** What a `zone_outcome_unknown` answer says after our account of the failure (the zone's own text is not ours to repeat). */
export const zoneOutcomeUnknownMessage =
  'the call to the zone failed after it was sent: the zone may have created the task, which is not tracked here; submitting again creates another task';

/** The error a replayed {@link SettledFailure} stands for, so a retry with the key answers exactly as the first request. */
export function settledFailureError(failure: SettledFailure): TaskNotRecordedError | ZoneUnavailableError {
  return failure.error === 'task_not_recorded'
    ? new TaskNotRecordedError(failure.jobid, 'replayed', failure.reason)
    : new ZoneUnavailableError(
        failure.errcode ?? 0,
        'replayed',
        'unknown',
        failure.reason ? { message: failure.reason, misconfigured: false } : undefined,
      );
}
