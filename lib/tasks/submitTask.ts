/**
 * Creating a task: the zone creates it, we store the record (never a key), then send the task's one
 * and only poll message.
 */
import type { Log } from '../log.js';
import { type CallBudget, DEFAULT_CORP_ID, isRateLimit } from '../budget/port.js';
import type { TaskMetrics } from '../metrics.js';
import { errorKind } from '../log.js';
import type { ResultClassifier } from '../poll/classify.js';
import type { PollSchedule } from '../poll/schedule.js';
import type { CreateProgramTaskRequest, CreateProgramTaskResponse } from '../protocol/zone.js';
import type { PollQueue } from '../queue/port.js';
import type { ZoneClient } from '../zone/client.js';
import { type ZoneCallReach, ZoneConfigurationError, ZoneTransportError } from '../zone/port.js';
import type { TaskStore } from './store.js';
import { type FailedMessage, pendingShard, type TaskRecord } from './task.js';

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
  /** Retries of a create the zone answered busy (-1, 45009, 45033); default 2. */
  createRetries?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface SubmittedTask {
  jobid: string;
  status: 'PENDING';
  /** Duplicated msgids the zone dropped, without their keys. */
  fail_list: FailedMessage[];
}

/** The zone refused the request (unknown program or ability, protocol mismatch, too many messages...). */
export class ZoneRejectedError extends Error {
  override readonly name = 'ZoneRejectedError';
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    super(`the zone rejected the task: ${errcode} ${errmsg}`);
  }
}

/** The corp's call budget is spent until `retryAt`: nothing was sent to the zone; retry then. */
export class BudgetSpentError extends Error {
  override readonly name = 'BudgetSpentError';
  constructor(readonly retryAt: number) {
    super('the corp has used its WeCom call budget for this window');
  }
}

/**
 * The zone could not be reached or is busy: the request itself may be fine. `reach` says whether the
 * zone may have created the task anyway (`unknown`: a timeout or broken answer after the request was
 * sent), in which case a retry may leave a second task at the zone.
 */
export class ZoneUnavailableError extends Error {
  override readonly name = 'ZoneUnavailableError';
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
    readonly reach: ZoneCallReach = 'not_sent',
    /**
     * The transport's own account of the failure (ours, never the zone's text): what failed and, for
     * a configuration error, what to fix. Absent for a busy answer of the zone.
     */
    readonly detail?: { message: string; misconfigured: boolean },
  ) {
    super(`the zone is unavailable: ${errcode} ${errmsg}`);
  }
}

/**
 * Ask the zone to create the task. A busy answer means nothing was created, so it is retried with
 * backoff and jitter, briefly (API Gateway gives up at 29 s). A transport failure is not retried:
 * the zone may have created the task before the connection failed, and creation is not idempotent
 * at the zone; the client decides (with an Idempotency-Key, a retry is safe on our side).
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
      if (!decision.granted) throw new BudgetSpentError(decision.retryAt);
    }
    let response: CreateProgramTaskResponse;
    try {
      response = await deps.zone.createProgramTask(request);
    } catch (error) {
      if (error instanceof ZoneTransportError) {
        throw new ZoneUnavailableError(error.wecomErrcode ?? error.sdkCode, error.message, error.reach, {
          message: error.message,
          misconfigured: error instanceof ZoneConfigurationError,
        });
      }
      throw error;
    }
    if (response.errcode === 0) return response;
    // WeCom says the corp is over its limit: the whole corp backs off for the rest of the window.
    if (isRateLimit(response.errcode)) await deps.budget?.exhaust(corpId, now());
    const transient = deps.classifier.transientErrcodes.has(response.errcode);
    if (!transient) throw new ZoneRejectedError(response.errcode, response.errmsg);
    if (attempt >= retries) throw new ZoneUnavailableError(response.errcode, response.errmsg);
    await sleep(200 * 2 ** attempt * (0.5 + Math.random() / 2));
  }
}

export async function submitTask(
  request: CreateProgramTaskRequest,
  deps: SubmitDependencies,
  options: { callbackUrl?: string; corpId?: string } = {},
): Promise<SubmittedTask> {
  const now = deps.now ?? Date.now;
  const corpId = options.corpId ?? deps.defaultCorpId ?? DEFAULT_CORP_ID;
  const response = await createInZone(request, corpId, deps);
  if (!response.jobid) throw new ZoneUnavailableError(0, 'the zone answered without a jobid');

  const createdAt = now();
  const duplicateList = response.fail_list.map(({ errcode, errmsg, msgid }) => ({ errcode, errmsg, msgid }));
  const task: TaskRecord = {
    jobid: response.jobid,
    status: 'PENDING',
    program_id: request.program_id,
    ability_id: request.ability_id,
    corp_id: corpId,
    escape_type: request.escape_type,
    message_count: new Set(request.msg_list.map((message) => message.msgid)).size,
    duplicate_list: duplicateList,
    attempts: 0,
    chain: 0,
    pending_shard: pendingShard(response.jobid),
    created_at: new Date(createdAt).toISOString(),
    updated_at: new Date(createdAt).toISOString(),
    next_poll_at: createdAt + deps.schedule.firstDelaySeconds * 1000,
    deadline_at: createdAt + deps.schedule.deadlineSeconds * 1000,
    expires_at: Math.floor(createdAt / 1000) + deps.schedule.deadlineSeconds + deps.retentionSeconds,
    callback_url: options.callbackUrl,
  };
  await deps.store.create(task);
  deps.metrics?.taskCreated();
  try {
    await deps.queue.sendPoll({ jobid: task.jobid, chain: task.chain }, deps.schedule.firstDelaySeconds);
  } catch (error) {
    // The zone task exists and is stored: answering 5xx would make the client create a second one.
    // The record keeps next_poll_at, so the sweeper resumes the task once it is overdue.
    deps.logger.error('first poll message not sent; the sweeper will resume the task', {
      jobid: task.jobid,
      error: errorKind(error),
    });
  }
  deps.logger.info('task created', {
    jobid: task.jobid,
    programId: task.program_id,
    abilityId: task.ability_id,
    messages: task.message_count,
    duplicates: duplicateList.length,
    escapeType: task.escape_type,
  });
  return { jobid: task.jobid, status: 'PENDING', fail_list: duplicateList };
}
