/**
 * `GET /tasks/{jobid}` as a middy handler: it needs only the task store.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { errorAnswer } from '../api/errors.js';
import { HttpError, notFound } from '../http/errors.js';
import { type HttpHandler, jsonErrorHandler } from '../http/middleware.js';
import { jsonResponse } from '../http/response.js';
import type { Log } from '../log.js';
import { logLambdaContext } from '../log.js';
import { jobidFromPathSegment } from '../tasks/jobid.js';
import type { TaskStore } from '../tasks/port.js';
import { taskView } from '../tasks/task.js';

/** `GET /tasks/{jobid}` → the task's view, or 404. */
export function makeGetTaskHandler(deps: { store: TaskStore; logger: Log }): HttpHandler {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
    .use(logLambdaContext(deps.logger))
    .use(jsonErrorHandler({ logger: deps.logger, answer: errorAnswer }))
    .handler(async (event) => {
      const raw = event.pathParameters?.jobid;
      if (raw === undefined) throw new HttpError(400, 'invalid_request', 'jobid: missing from the path');
      const jobid = jobidFromPathSegment(raw);
      if (jobid === undefined) {
        throw new HttpError(
          400,
          'invalid_request',
          'jobid: is not a jobid in a path: use the location POST /tasks answered (A-Z a-z 0-9 _ - as they are; any other jobid as ~ followed by the base64url of its UTF-8 bytes)',
        );
      }
      const task = await deps.store.get(jobid);
      // The table also holds the call budget's counters: only a task record is a task.
      if (!task || typeof task.status !== 'string') throw notFound(`no task with jobid ${raw}`);
      return jsonResponse(200, taskView(task));
    });
}
