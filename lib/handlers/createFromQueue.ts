/**
 * Creating tasks from events (`functions/createFromQueue.ts`; `./createFromEvent.ts` shares
 * `createFromPayload`), so upstream systems need not call HTTP: an SQS queue of create
 * requests, and EventBridge events with detail-type `CreateProgramTask`. Same schema, same
 * validation, same idempotency as `POST /tasks` (the key is the message or event id, so a redelivery
 * never creates a second zone task). Input that can never succeed is logged by field and dropped;
 * a busy or unreachable zone is retried by the event source.
 *
 * This file holds the SQS handler (`functions/createFromQueue.ts`) and what both share
 * (`createFromPayload`, `logOutcome`); the EventBridge handler is `./createFromEvent.ts`.
 */

import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { errorAnswer, eventDisposition } from '../api/errors.js';
import { CreateTaskBodySchema, IDEMPOTENCY_KEY_PATTERN } from '../api/schemas.js';
import { type SubmitDependencies, type SubmittedTask, settledFailureOf, submitTask } from '../create/submitTask.js';
import { HttpError } from '../http/errors.js';
import { validate } from '../http/request.js';
import type { Log } from '../log.js';
import { errorKind, logLambdaContext } from '../log.js';
import { publishMetrics } from '../metrics.js';
import { type CallbackPolicy, callbackUrlProblem } from '../notify/callback.js';
import { sqsBatchHandler } from '../queue/batchItemFailures.js';
import { SettledFailureError } from '../tasks/errors.js';
import { createOnce, type IdempotencyDependencies } from '../tasks/idempotency.js';

export type CreateFromEventDependencies = SubmitDependencies &
  IdempotencyDependencies & {
    callbackPolicy?: CallbackPolicy;
    /**
     * The event `source` values that may create tasks (CREATE_EVENT_SOURCES), checked again here
     * although the rule's pattern already requires them: a rule edited by hand, or an invocation
     * that did not come through the rule, still creates nothing for a source nobody allowed.
     * Undefined: any source (`npm start`, tests).
     */
    allowedSources?: readonly string[];
  };

/** What happened to one create request. */
export type CreateOutcome =
  | { status: 'created'; task: SubmittedTask; replayed: boolean }
  /** Never retried: the request is invalid or the zone refused it. */
  | { status: 'rejected'; error: string; message: string; errcode?: number }
  /**
   * Never retried either: the zone may hold (`zone_outcome_unknown`) or holds (`task_not_recorded`)
   * a task this service does not track; a retry would create another one.
   */
  | { status: 'untracked'; error: 'zone_outcome_unknown' | 'task_not_recorded'; jobid?: string; errcode?: number };

/**
 * Validate and create once per `idempotencyKey`. Rejections are answered, busy zones thrown (retry).
 */
export async function createFromPayload(
  payload: unknown,
  idempotencyKey: string,
  deps: CreateFromEventDependencies,
): Promise<CreateOutcome> {
  try {
    const body = validate(CreateTaskBodySchema, payload);
    const { callback_url: callbackUrl, corp_id: corpId, ...request } = body;
    const problem = callbackUrl === undefined ? undefined : callbackUrlProblem(callbackUrl, deps.callbackPolicy);
    if (problem !== undefined) throw new HttpError(400, 'invalid_request', problem);
    const { task, replayed } = await createOnce(
      idempotencyKey,
      request,
      { ...deps, settledFailure: settledFailureOf },
      () => submitTask(request, deps, { callbackUrl, corpId }),
    );
    return { status: 'created', task, replayed };
  } catch (error) {
    return failedOutcome(error);
  }
}

/**
 * What a failed create request comes to, by the one table (`errors.ts`): rejected or untracked (both
 * answered, never retried), or thrown: busy, rate-limited, budget spent, unreachable, nothing was
 * created, and the event source retries.
 */
function failedOutcome(error: unknown): CreateOutcome {
  const disposition = eventDisposition(error);
  if (disposition === 'untracked') {
    const failure = error instanceof SettledFailureError ? error.failure : settledFailureOf(error);
    if (failure) return { status: 'untracked', error: failure.error, jobid: failure.jobid, errcode: failure.errcode };
  }
  const answer = disposition === 'rejected' ? errorAnswer(error) : undefined;
  if (!answer) throw error;
  // A zone rejection carries the zone's own words and code; any other rejection names the problem.
  const { errmsg, errcode } = answer.details;
  return {
    status: 'rejected',
    error: answer.code,
    message: typeof errmsg === 'string' ? errmsg : answer.message,
    ...(typeof errcode === 'number' ? { errcode } : {}),
  };
}

export function logOutcome(logger: Log, source: Record<string, string>, outcome: CreateOutcome): void {
  if (outcome.status === 'created') {
    logger.info('create request handled', { ...source, jobid: outcome.task.jobid, replayed: outcome.replayed });
  } else if (outcome.status === 'untracked') {
    logger.error(
      'the zone may hold a task this request created, which is not tracked; not retried (a retry creates another)',
      {
        ...source,
        error: outcome.error,
        jobid: outcome.jobid,
        errcode: outcome.errcode,
      },
    );
  } else {
    // A validation problem names a field (ours to log); a zone's errmsg is not ours to vouch for: its code only.
    const problem = outcome.error === 'zone_rejected' ? undefined : outcome.message;
    logger.error('create request rejected; dropping it', {
      ...source,
      error: outcome.error,
      problem,
      errcode: outcome.errcode,
    });
  }
}

/** The idempotency key of an SQS create request: its `idempotency-key` attribute, else the message id. */
function recordKey(record: SQSRecord): string {
  const attribute = record.messageAttributes?.['idempotency-key']?.stringValue;
  return attribute && IDEMPOTENCY_KEY_PATTERN.test(attribute) ? `sqs:${attribute}` : `sqs:${record.messageId}`;
}

/** One SQS create request: handled and logged, or thrown to be retried. */
async function createFromRecord(record: SQSRecord, deps: CreateFromEventDependencies): Promise<void> {
  let payload: unknown;
  try {
    payload = JSON.parse(record.body);
  } catch {
    return logOutcome(
      deps.logger,
      { messageId: record.messageId },
      { status: 'rejected', error: 'invalid_json', message: 'the message body is not valid JSON' },
    );
  }
  logOutcome(deps.logger, { messageId: record.messageId }, await createFromPayload(payload, recordKey(record), deps));
}

/**
 * SQS-triggered (`ReportBatchItemFailures`): each record's body is a create request.
 *
 * @example
 * export const handler = makeCreateFromQueueHandler(awsDependencies());
 */
export function makeCreateFromQueueHandler(
  deps: CreateFromEventDependencies,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  return sqsBatchHandler(
    [logLambdaContext(deps.logger), publishMetrics(deps.metrics, deps.logger)],
    () => async (record) => {
      try {
        await createFromRecord(record, deps);
      } catch (error) {
        deps.logger.warn('create request failed; it will be retried', {
          messageId: record.messageId,
          error: errorKind(error),
        });
        throw error;
      }
    },
  );
}
