/**
 * `POST /tasks` (`functions/createTask.ts`) as a middy handler, built from its dependencies so the
 * same code runs on Lambda (AWS adapters) and in the local stack (embedded adapters). Reading the
 * request is a `before` step; a failure anywhere is answered by the error middleware from the one
 * table (`lib/api/errors.ts`).
 */
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { errorAnswer } from '../api/errors.js';
import { type CreateTaskBody, CreateTaskBodySchema, IDEMPOTENCY_KEY_PATTERN } from '../api/schemas.js';
import { type SubmitDependencies, settledFailureOf, submitTask } from '../create/submitTask.js';
import { HttpError } from '../http/errors.js';
import { type HttpHandler, jsonErrorHandler } from '../http/middleware.js';
import { readJsonBody, singleHeader, validate } from '../http/request.js';
import { jsonResponse } from '../http/response.js';
import { logLambdaContext } from '../log.js';
import { publishMetrics } from '../metrics.js';
import { type CallbackPolicy, callbackUrlProblem } from '../notify/callback.js';
import { createOnce, type IdempotencyDependencies } from '../tasks/idempotency.js';
import { taskLocation } from '../tasks/jobid.js';

/** A `POST /tasks` event once its request has been read: the key and the validated body. */
type CreateTaskEvent = APIGatewayProxyEventV2 & { createRequest?: { key: string | undefined; body: CreateTaskBody } };

/**
 * middy `before` step: read the request, in the order its problems are answered: the
 * Idempotency-Key (400), the body's media type and JSON (415, 400), the body's fields (400), the
 * callback URL against the policy (400). The handler finds the result on `event.createRequest`.
 */
function readCreateRequest(
  policy: CallbackPolicy | undefined,
): MiddlewareObj<CreateTaskEvent, APIGatewayProxyResultV2, Error, Context> {
  return {
    before: (request) => {
      const { event } = request;
      // Any letter case (REST API and ALB events keep the client's), sent once (a repeat is ambiguous).
      const key = singleHeader(event.headers, 'Idempotency-Key');
      if (key !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(key)) {
        throw new HttpError(400, 'invalid_request', 'Idempotency-Key: must be 1-255 visible ASCII characters');
      }
      const body = validate(CreateTaskBodySchema, readJsonBody(event));
      const problem = body.callback_url === undefined ? undefined : callbackUrlProblem(body.callback_url, policy);
      if (problem !== undefined) throw new HttpError(400, 'invalid_request', problem);
      event.createRequest = { key, body };
    },
  };
}

/**
 * `POST /tasks` → 202 `{jobid, status: "PENDING", fail_list}`.
 *
 * @example
 * export const handler = makeCreateTaskHandler(createDependencies());
 */
export function makeCreateTaskHandler(
  deps: SubmitDependencies & IdempotencyDependencies & { callbackPolicy?: CallbackPolicy },
): HttpHandler {
  return middy<CreateTaskEvent, APIGatewayProxyResultV2>()
    .use(logLambdaContext(deps.logger))
    .use(publishMetrics(deps.metrics, deps.logger))
    .use(jsonErrorHandler({ logger: deps.logger, answer: errorAnswer }))
    .use(readCreateRequest(deps.callbackPolicy))
    .handler(async (event) => {
      if (!event.createRequest) throw new Error('the request was not read (readCreateRequest runs before)');
      const { key, body } = event.createRequest;
      const { callback_url: callbackUrl, corp_id: corpId, ...request } = body;
      const submit = () => submitTask(request, deps, { callbackUrl, corpId });
      const { task, replayed } =
        key === undefined
          ? { task: await submit(), replayed: false }
          : await createOnce(key, request, { ...deps, settledFailure: settledFailureOf }, submit);
      const headers: Record<string, string> = { location: taskLocation(task.jobid) };
      if (replayed) headers['idempotent-replayed'] = 'true';
      return jsonResponse(202, task, headers);
    });
}
