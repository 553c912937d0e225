/**
 * The one table from every public error to what a client sees: the HTTP answer of `POST /tasks`,
 * `GET /tasks/{jobid}` and `GET /openapi.json` (through the error middleware), and what the event
 * sources (`createFromQueue`, `createFromEvent`) do with the same error. The status and the public
 * code come from the error itself ({@link ServiceError}); the table words the message and adds the
 * body fields and headers. Each answer says what happened at the zone: nothing (4xx, 503), maybe a
 * task (502 `zone_outcome_unknown`), or a task we could not record (502 `task_not_recorded`); only
 * the 503s and the 409 invite a retry.
 */

import { CorpNotServedError } from '../corps/errors.js';
import {
  BudgetSpentError,
  TaskNotRecordedError,
  ZoneRateLimitedError,
  ZoneRejectedError,
  ZoneUnavailableError,
} from '../create/errors.js';
import { settledFailureError, zoneOutcomeUnknownMessage } from '../create/submitTask.js';
import { ServiceError } from '../errors.js';
import { HttpError } from '../http/errors.js';
import {
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  SettledFailureError,
  TaskTooLargeError,
} from '../tasks/errors.js';

/**
 * What an event source does with a failed create request: `rejected`, logged and dropped (it can
 * never succeed); `untracked`, logged and dropped, as the zone may hold a task a retry would
 * duplicate; `retried`, thrown, so SQS or EventBridge delivers it again (nothing was created).
 */
export type EventDisposition = 'rejected' | 'untracked' | 'retried';

interface ErrorRule<E extends ServiceError> {
  type: abstract new (...args: never[]) => E;
  /** The answer's message; default the error's own. */
  message?: (error: E, now: number) => string;
  /** Fields added to the answer's body. */
  details?: (error: E) => Record<string, unknown>;
  headers?: (error: E, now: number) => Record<string, string>;
  event: EventDisposition | ((error: E) => EventDisposition);
}

function rule<E extends ServiceError>(entry: ErrorRule<E>): ErrorRule<ServiceError> {
  return entry as unknown as ErrorRule<ServiceError>;
}

/** Seconds until `retryAt`, for `retry-after` (at least 1). */
function secondsUntil(retryAt: number, now: number): number {
  return Math.max(1, Math.ceil((retryAt - now) / 1000));
}

/** The zone's (or the transport's) code, when the error carries one. */
const errcodeOf = (error: { errcode?: number }) => (error.errcode === undefined ? {} : { errcode: error.errcode });

/** The table, most specific class first (a subclass before its base). */
export const ERROR_RULES: readonly ErrorRule<ServiceError>[] = [
  // Bad requests and the other answers of the HTTP edge: as they were raised.
  rule({ type: HttpError, details: (error) => error.details, headers: (error) => error.headers, event: 'rejected' }),
  rule({
    type: IdempotencyKeyReusedError,
    message: (error) => `Idempotency-Key: ${error.message}`,
    event: 'retried',
  }),
  rule({ type: IdempotencyInProgressError, headers: () => ({ 'retry-after': '1' }), event: 'retried' }),
  rule({ type: TaskTooLargeError, event: 'rejected' }),
  // No corp named while several are served, an unknown or a deauthorised corp: nothing was called.
  rule({
    type: CorpNotServedError,
    details: (error) => (error.corpId === undefined ? {} : { corp_id: error.corpId }),
    event: 'rejected',
  }),
  rule({
    type: ZoneRejectedError,
    message: (error) => `the zone rejected the task: ${error.errmsg}`,
    details: (error) => ({ errcode: error.errcode, errmsg: error.errmsg }),
    event: 'rejected',
  }),
  rule({
    type: BudgetSpentError,
    message: (error, now) => `${error.message}; retry in ${secondsUntil(error.retryAt, now)} s`,
    headers: (error, now) => ({ 'retry-after': String(secondsUntil(error.retryAt, now)) }),
    event: 'retried',
  }),
  rule({
    type: ZoneRateLimitedError,
    message: (error, now) =>
      `${error.message}; the corp backs off for a minute: retry in ${secondsUntil(error.retryAt, now)} s`,
    details: errcodeOf,
    headers: (error, now) => ({ 'retry-after': String(secondsUntil(error.retryAt, now)) }),
    event: 'retried',
  }),
  rule({
    type: TaskNotRecordedError,
    details: (error) => (error.jobid === undefined ? {} : { jobid: error.jobid }),
    event: 'untracked',
  }),
  rule({
    type: ZoneUnavailableError,
    message: (error) => {
      if (error.code === 'zone_outcome_unknown') {
        const what = error.detail?.message ? `${error.detail.message}: ` : '';
        return `${what}${zoneOutcomeUnknownMessage}`;
      }
      // Nothing was created, and retrying will not help until the deployment's settings are fixed.
      if (error.code === 'zone_misconfigured') return `${error.detail?.message}; nothing was created`;
      const what = error.detail ? `the zone could not be reached (${error.detail.message})` : 'the zone is busy';
      return `${what}; nothing was created; retry later`;
    },
    details: (error) => ({ errcode: error.errcode }),
    headers: (error): Record<string, string> => (error.code === 'zone_unavailable' ? { 'retry-after': '5' } : {}),
    // The zone may hold a task: a redelivery would create another.
    event: (error) => (error.code === 'zone_outcome_unknown' ? 'untracked' : 'retried'),
  }),
  // A retry with the key of a request that ended this way: the same answer, never a second task.
  rule({ type: SettledFailureError, event: 'untracked' }),
];

function ruleFor(error: ServiceError): ErrorRule<ServiceError> | undefined {
  return ERROR_RULES.find((entry) => error instanceof entry.type);
}

/**
 * The HTTP answer of an error: an {@link HttpError} with the error's status and public code and the
 * table's message, body fields and headers; undefined for an error that is not in the table (the
 * middleware answers it 500 without detail).
 *
 * @example
 * errorAnswer(new ZoneRejectedError(800001, 'program not found'))
 * // HttpError 422 zone_rejected 'the zone rejected the task: program not found' {errcode, errmsg}
 */
export function errorAnswer(error: unknown, now: number = Date.now()): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof SettledFailureError) {
    const answer = errorAnswer(settledFailureError(error.failure), now);
    return (
      answer &&
      new HttpError(answer.statusCode, answer.code, answer.message, answer.details, {
        ...answer.headers,
        'idempotent-replayed': 'true',
      })
    );
  }
  if (!(error instanceof ServiceError)) return undefined;
  const entry = ruleFor(error);
  if (!entry) return undefined;
  return new HttpError(
    error.statusCode,
    error.code,
    entry.message?.(error, now) ?? error.message,
    entry.details?.(error) ?? {},
    entry.headers?.(error, now) ?? {},
  );
}

/** What an event source does with `error` (`retried` for anything not in the table: nothing was created). */
export function eventDisposition(error: unknown): EventDisposition {
  const event = error instanceof ServiceError ? ruleFor(error)?.event : undefined;
  if (event === undefined) return 'retried';
  return typeof event === 'function' ? event(error as ServiceError) : event;
}
