/**
 * `GET /tasks/{jobid}` as a middy handler: it needs only the task store.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { HttpError, notFound } from '../http/errors.js';
import { jsonErrorHandler } from '../http/middleware.js';
import { logLambdaContext } from '../log.js';
import { jsonResponse } from '../http/response.js';
import type { Log } from '../log.js';
import type { TaskStore } from '../tasks/store.js';
import { taskView } from '../tasks/task.js';
import { type HttpHandler, JobidSchema } from './http.js';

/** `GET /tasks/{jobid}` → the task's view, or 404. */
export function makeGetTaskHandler(deps: { store: TaskStore; logger: Log }): HttpHandler {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
    .use(logLambdaContext(deps.logger))
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
