/**
 * `POST /tasks` as a middy handler, built from its dependencies so the same code runs on Lambda (AWS
 * adapters) and in the local stack (embedded adapters).
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { CorpNotServedError } from '../corps/port.js';
import { HttpError } from '../http/errors.js';
import { jsonErrorHandler } from '../http/middleware.js';
import { readJsonBody, singleHeader, validate } from '../http/request.js';
import { jsonResponse } from '../http/response.js';
import { logLambdaContext } from '../log.js';
import { publishMetrics } from '../metrics.js';
import {
  createOnce,
  IDEMPOTENCY_KEY_PATTERN,
  type IdempotencyDependencies,
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  SettledFailureError,
} from '../tasks/idempotency.js';
import { taskLocation } from '../tasks/jobid.js';
import { TaskTooLargeError } from '../tasks/recordSize.js';
import {
  BudgetSpentError,
  type SubmitDependencies,
  settledFailureError,
  settledFailureOf,
  submitTask,
  TaskNotRecordedError,
  ZoneRateLimitedError,
  ZoneRejectedError,
  ZoneUnavailableError,
  zoneOutcomeUnknownMessage,
} from '../tasks/submitTask.js';
import { type CallbackPolicy, CreateTaskBodySchema, type HttpHandler } from './http.js';

/**
 * `POST /tasks` → 202 `{jobid, status: "PENDING", fail_list}`.
 *
 * @example
 * export const handler = makeCreateTaskHandler(awsDependencies());
 */
export function makeCreateTaskHandler(
  deps: SubmitDependencies & IdempotencyDependencies & { callbackPolicy?: CallbackPolicy },
): HttpHandler {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
    .use(logLambdaContext(deps.logger))
    .use(publishMetrics(deps.metrics, deps.logger))
    .use(jsonErrorHandler({ logger: deps.logger }))
    .handler(async (event) => {
      // Any letter case (REST API and ALB events keep the client's), sent once (a repeat is ambiguous).
      const key = singleHeader(event.headers, 'Idempotency-Key');
      if (key !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(key)) {
        throw new HttpError(400, 'invalid_request', 'Idempotency-Key: must be 1-255 visible ASCII characters');
      }
      const {
        callback_url: callbackUrl,
        corp_id: corpId,
        ...request
      } = validate(CreateTaskBodySchema, readJsonBody(event));
      if (callbackUrl !== undefined) checkCallbackUrl(callbackUrl, deps.callbackPolicy);
      const submit = () => submitTask(request, deps, { callbackUrl, corpId });
      try {
        const { task, replayed } =
          key === undefined
            ? { task: await submit(), replayed: false }
            : await createOnce(key, request, { ...deps, settledFailure: settledFailureOf }, submit);
        const headers: Record<string, string> = { location: taskLocation(task.jobid) };
        if (replayed) headers['idempotent-replayed'] = 'true';
        return jsonResponse(202, task, headers);
      } catch (error) {
        throw createErrorAnswer(error);
      }
    });
}

/** Seconds until `retryAt`, for `retry-after` (at least 1). */
function secondsUntil(retryAt: number): number {
  return Math.max(1, Math.ceil((retryAt - Date.now()) / 1000));
}

/**
 * The HTTP answer of a failed create. Each says what happened at the zone: nothing (4xx, 503), maybe a
 * task (502 `zone_outcome_unknown`), or a task we could not record (502 `task_not_recorded`); only the
 * 503s invite a retry.
 */
export function createErrorAnswer(error: unknown): unknown {
  if (error instanceof SettledFailureError) {
    // A retry with the key of a request that ended this way: the same answer, never a second task.
    const answer = createErrorAnswer(settledFailureError(error.failure));
    return answer instanceof HttpError
      ? new HttpError(answer.statusCode, answer.code, answer.message, answer.details, {
          ...answer.headers,
          'idempotent-replayed': 'true',
        })
      : answer;
  }
  if (error instanceof IdempotencyKeyReusedError)
    return new HttpError(422, 'idempotency_key_reused', `Idempotency-Key: ${error.message}`);
  if (error instanceof IdempotencyInProgressError)
    return new HttpError(409, 'idempotency_in_progress', error.message, {}, { 'retry-after': '1' });
  if (error instanceof TaskTooLargeError) return new HttpError(413, 'task_too_large', error.message);
  if (error instanceof CorpNotServedError) {
    // 400: the request must name a corp; 404: no such corp here; 403: the corp withdrew the app.
    const status = error.code === 'corp_required' ? 400 : error.code === 'unknown_corp' ? 404 : 403;
    return new HttpError(
      status,
      error.code,
      error.message,
      error.corpId === undefined ? {} : { corp_id: error.corpId },
    );
  }
  if (error instanceof ZoneRejectedError) {
    return new HttpError(422, 'zone_rejected', `the zone rejected the task: ${error.errmsg}`, {
      errcode: error.errcode,
      errmsg: error.errmsg,
    });
  }
  if (error instanceof BudgetSpentError) {
    const seconds = secondsUntil(error.retryAt);
    return new HttpError(
      503,
      'budget_spent',
      `${error.message}; retry in ${seconds} s`,
      {},
      { 'retry-after': String(seconds) },
    );
  }
  if (error instanceof ZoneRateLimitedError) {
    const seconds = secondsUntil(error.retryAt);
    return new HttpError(
      503,
      'zone_rate_limited',
      `${error.message}; the corp backs off for a minute: retry in ${seconds} s`,
      error.errcode === undefined ? {} : { errcode: error.errcode },
      { 'retry-after': String(seconds) },
    );
  }
  if (error instanceof TaskNotRecordedError) {
    return new HttpError(
      502,
      'task_not_recorded',
      error.message,
      error.jobid === undefined ? {} : { jobid: error.jobid },
    );
  }
  if (error instanceof ZoneUnavailableError && error.reach === 'unknown') {
    // Not 503: a client that retries (ours does on 503) could leave a second task at the zone.
    const what = error.detail?.message ? `${error.detail.message}: ` : '';
    return new HttpError(502, 'zone_outcome_unknown', `${what}${zoneOutcomeUnknownMessage}`, {
      errcode: error.errcode,
    });
  }
  if (error instanceof ZoneUnavailableError && error.detail?.misconfigured) {
    // Nothing was created, and retrying will not help until the deployment's settings are fixed.
    return new HttpError(503, 'zone_misconfigured', `${error.detail.message}; nothing was created`, {
      errcode: error.errcode,
    });
  }
  if (error instanceof ZoneUnavailableError) {
    const what = error.detail ? `the zone could not be reached (${error.detail.message})` : 'the zone is busy';
    return new HttpError(
      503,
      'zone_unavailable',
      `${what}; nothing was created; retry later`,
      { errcode: error.errcode },
      { 'retry-after': '5' },
    );
  }
  return error;
}

function checkCallbackUrl(url: string, policy: CallbackPolicy | undefined): void {
  if (!policy?.enabled) {
    // Name the setting of the place this runs (AWS: the SSM parameter; npm start: the local secret).
    throw new HttpError(
      400,
      'invalid_request',
      `callback_url: callbacks are not configured here (set ${policy?.setting ?? 'CALLBACK_SECRET_PARAM'})`,
    );
  }
  if (!policy.allowHttp && !url.startsWith('https:')) {
    throw new HttpError(400, 'invalid_request', 'callback_url: must be an https URL');
  }
}
