/**
 * The HTTP routes as middy handlers, built from their dependencies so the same code runs on Lambda
 * (AWS adapters) and in the local stack (embedded adapters).
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import { CorpIdSchema } from '../budget/port.js';
import { HttpError, notFound } from '../http/errors.js';
import { jsonErrorHandler } from '../http/middleware.js';
import { readJsonBody, validate } from '../http/request.js';
import { jsonResponse } from '../http/response.js';
import { flushMetrics } from '../metrics.js';
import { pollBatch } from '../poll/pollBatch.js';
import type { PollDependencies } from '../poll/pollTask.js';
import { type SweepDependencies, type SweepReport, sweepOverdue } from '../poll/sweep.js';
import { createProgramTaskRequestShape } from '../protocol/zone.js';
import {
  createOnce,
  IDEMPOTENCY_KEY_PATTERN,
  type IdempotencyDependencies,
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
} from '../tasks/idempotency.js';
import type { TaskStore } from '../tasks/store.js';
import {
  BudgetSpentError,
  type SubmitDependencies,
  submitTask,
  ZoneRejectedError,
  ZoneUnavailableError,
} from '../tasks/submitTask.js';
import { taskView } from '../tasks/task.js';

/**
 * The API's body is a create_program_task request, plus an optional `callback_url` (kept by us, not
 * sent to the zone). Unknown top-level fields are refused, so a typo never passes silently.
 */
export const CreateTaskBodySchema = z.strictObject({
  ...createProgramTaskRequestShape,
  callback_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048).optional(),
  /** Whose WeCom call budget the task uses (a provider serving several corps); default `DEFAULT_CORP_ID`. */
  corp_id: CorpIdSchema.optional(),
});

/** Whether `callback_url` is accepted, and over plain HTTP (local development only). */
export interface CallbackPolicy {
  enabled: boolean;
  allowHttp: boolean;
}

/** jobids are opaque, but never need more than this; anything else is not a jobid. */
export const JobidSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'is not a jobid');

export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

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
        if (error instanceof ZoneUnavailableError) {
          throw new HttpError(
            503,
            'zone_unavailable',
            'the zone is busy or unreachable; retry later',
            { errcode: error.errcode },
            { 'retry-after': '5' },
          );
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

/** `GET /tasks/{jobid}` → the task's view, or 404. */
export function makeGetTaskHandler(deps: Pick<SubmitDependencies, 'store' | 'logger'> & { store: TaskStore }): HttpHandler {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
    .use(jsonErrorHandler({ logger: deps.logger }))
    .handler(async (event) => {
      const raw = event.pathParameters?.jobid;
      if (raw === undefined) throw new HttpError(400, 'invalid_request', 'jobid: missing from the path');
      const parsed = JobidSchema.safeParse(raw);
      if (!parsed.success) throw new HttpError(400, 'invalid_request', 'jobid: is not a jobid (1-128 of A-Z a-z 0-9 _ -)');
      const task = await deps.store.get(parsed.data);
      if (!task) throw notFound(`no task with jobid ${parsed.data}`);
      return jsonResponse(200, taskView(task));
    });
}

/** The scheduled sweeper: resumes orphaned tasks. */
export function makeSweepHandler(deps: SweepDependencies): (event: unknown, context: Context) => Promise<SweepReport> {
  return middy<unknown, SweepReport>().handler(() => sweepOverdue(deps));
}

/** The SQS-triggered poller (`ReportBatchItemFailures`). */
export function makePollResultHandler(deps: PollDependencies): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  return middy<SQSEvent, SQSBatchResponse>()
    .use(flushMetrics(deps.metrics))
    .handler((event) => pollBatch(event, deps));
}
