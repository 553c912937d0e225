/**
 * `POST /tasks` as a middy handler, built from its dependencies so the same code runs on Lambda (AWS
 * adapters) and in the local stack (embedded adapters).
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { HttpError } from '../http/errors.js';
import { jsonErrorHandler } from '../http/middleware.js';
import { logLambdaContext } from '../log.js';
import { readJsonBody, validate } from '../http/request.js';
import { jsonResponse } from '../http/response.js';
import { flushMetrics } from '../metrics.js';
import {
  createOnce,
  IDEMPOTENCY_KEY_PATTERN,
  type IdempotencyDependencies,
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
} from '../tasks/idempotency.js';
import {
  BudgetSpentError,
  type SubmitDependencies,
  submitTask,
  ZoneRejectedError,
  ZoneUnavailableError,
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
    .use(flushMetrics(deps.metrics))
    .use(jsonErrorHandler({ logger: deps.logger }))
    .handler(async (event) => {
      const key = event.headers?.['idempotency-key'];
      if (key !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(key)) {
        throw new HttpError(400, 'invalid_request', 'Idempotency-Key: must be 1-255 visible ASCII characters');
      }
      const { callback_url: callbackUrl, corp_id: corpId, ...request } = validate(CreateTaskBodySchema, readJsonBody(event));
      if (callbackUrl !== undefined) checkCallbackUrl(callbackUrl, deps.callbackPolicy);
      const submit = () => submitTask(request, deps, { callbackUrl, corpId });
      try {
        const { task, replayed } =
          key === undefined ? { task: await submit(), replayed: false } : await createOnce(key, request, deps, submit);
        const headers: Record<string, string> = { location: `/tasks/${task.jobid}` };
        if (replayed) headers['idempotent-replayed'] = 'true';
        return jsonResponse(202, task, headers);
      } catch (error) {
        if (error instanceof IdempotencyKeyReusedError) {
          throw new HttpError(422, 'idempotency_key_reused', `Idempotency-Key: ${error.message}`);
        }
        if (error instanceof IdempotencyInProgressError) {
          throw new HttpError(409, 'idempotency_in_progress', error.message, {}, { 'retry-after': '1' });
        }
        if (error instanceof ZoneRejectedError) {
          throw new HttpError(422, 'zone_rejected', `the zone rejected the task: ${error.errmsg}`, {
            errcode: error.errcode,
            errmsg: error.errmsg,
          });
        }
        if (error instanceof BudgetSpentError) {
          const seconds = Math.max(1, Math.ceil((error.retryAt - Date.now()) / 1000));
          throw new HttpError(503, 'budget_spent', `${error.message}; retry in ${seconds} s`, {}, { 'retry-after': String(seconds) });
        }
        if (error instanceof ZoneUnavailableError && error.reach === 'unknown') {
          // Not 503: a client that retries (ours does on 503) could leave a second task at the zone.
          throw new HttpError(
            502,
            'zone_outcome_unknown',
            `${error.detail?.message ?? 'the zone call failed'}. The zone may have created the task, which is not tracked here; retrying creates another task`,
            { errcode: error.errcode },
          );
        }
        if (error instanceof ZoneUnavailableError && error.detail?.misconfigured) {
          // Nothing was created, and retrying will not help until the deployment's settings are fixed.
          throw new HttpError(503, 'zone_misconfigured', `${error.detail.message}; nothing was created`, { errcode: error.errcode });
        }
        if (error instanceof ZoneUnavailableError) {
          const what = error.detail ? `the zone could not be reached (${error.detail.message})` : 'the zone is busy';
          throw new HttpError(503, 'zone_unavailable', `${what}; nothing was created; retry later`, { errcode: error.errcode }, { 'retry-after': '5' });
        }
        throw error;
      }
    });
}

function checkCallbackUrl(url: string, policy: CallbackPolicy | undefined): void {
  if (!policy?.enabled) {
    throw new HttpError(400, 'invalid_request', 'callback_url: callbacks are not configured on this deployment (CALLBACK_SECRET_PARAM)');
  }
  if (!policy.allowHttp && !url.startsWith('https:')) {
    throw new HttpError(400, 'invalid_request', 'callback_url: must be an https URL');
  }
}
