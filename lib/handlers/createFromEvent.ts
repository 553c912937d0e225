/**
 * EventBridge-triggered creates (`functions/createFromEvent.ts`): events with detail-type
 * `CreateProgramTask` (see `CREATE_DETAIL_TYPE` in `lib/api/schemas.ts`). The validation and the
 * idempotent create are shared with the SQS handler: `createFromPayload` in `./createFromQueue.ts`.
 */
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { logLambdaContext } from '../log.js';
import { publishMetrics } from '../metrics.js';
import {
  type CreateFromEventDependencies,
  type CreateOutcome,
  createFromPayload,
  logOutcome,
} from './createFromQueue.js';

/**
 * EventBridge-triggered: `detail` is a create request. A rejection is answered (and logged), never
 * thrown, so EventBridge does not retry it; a busy zone throws, and EventBridge's async retries apply.
 */
export function makeCreateFromEventHandler(
  deps: CreateFromEventDependencies,
): (event: EventBridgeEvent<string, unknown>, context: Context) => Promise<CreateOutcome> {
  return middy<EventBridgeEvent<string, unknown>, CreateOutcome>()
    .use(logLambdaContext(deps.logger))
    .use(publishMetrics(deps.metrics, deps.logger))
    .handler(async (event) => {
      const source = String(event.source ?? '').slice(0, 256);
      const outcome: CreateOutcome =
        deps.allowedSources !== undefined && !deps.allowedSources.includes(source)
          ? {
              status: 'rejected',
              error: 'source_not_allowed',
              message: 'the event source is not in CREATE_EVENT_SOURCES',
            }
          : await createFromPayload(event.detail, `eventbridge:${event.id}`, deps);
      logOutcome(deps.logger, { eventId: event.id, source }, outcome);
      return outcome;
    });
}
