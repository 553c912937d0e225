/**
 * The errors of the tasks folder: creating a task at the zone, storing it, and creating it once per
 * Idempotency-Key. The public ones are {@link ServiceError}s (HTTP status and public code);
 * `lib/api/errors.ts` words their answers. Their messages name ids, counts and codes, never request content.
 */
import { ServiceError } from '../errors.js';
import type { ZoneCallReach } from '../zone/port.js';
import { DYNAMODB_MAX_ITEM_BYTES } from './itemSize.js';
import type { SettledFailure } from './port.js';
import { RESULT_ROOM_BYTES } from './recordSize.js';

/** The jobid is already stored (a second create of the same task). */
export class TaskExistsError extends Error {
  override readonly name = 'TaskExistsError';
  constructor(readonly jobid: string) {
    super(`task ${jobid} is already stored`);
  }
}

/** Raised by the in-memory stores where DynamoDB answers ValidationException "Item size has exceeded the maximum allowed size". */
export class ItemTooLargeError extends Error {
  override readonly name = 'ItemTooLargeError';
  constructor(readonly bytes: number) {
    super(`the item needs ${bytes} bytes; DynamoDB holds at most ${DYNAMODB_MAX_ITEM_BYTES}`);
  }
}

/** The key was used before with a different request. */
export class IdempotencyKeyReusedError extends ServiceError {
  override readonly name = 'IdempotencyKeyReusedError';
  readonly statusCode = 422;
  readonly code = 'idempotency_key_reused';
}

/** The first request with this key is still running after the wait. */
export class IdempotencyInProgressError extends ServiceError {
  override readonly name = 'IdempotencyInProgressError';
  readonly statusCode = 409;
  readonly code = 'idempotency_in_progress';
}

/** A replay of a first request that ended with a {@link SettledFailure}. */
export class SettledFailureError extends ServiceError {
  override readonly name = 'SettledFailureError';
  readonly statusCode = 502;
  /** `zone_outcome_unknown` or `task_not_recorded`: the first request's answer. */
  get code(): string {
    return this.failure.error;
  }
  constructor(
    readonly failure: SettledFailure,
    readonly replayed: boolean,
  ) {
    super(failure.reason);
  }
}

/** The request's record could outgrow a DynamoDB item: refused before the zone is called. */
export class TaskTooLargeError extends ServiceError {
  override readonly name = 'TaskTooLargeError';
  readonly statusCode = 413;
  readonly code = 'task_too_large';
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      `msg_list: this task's record could need ${bytes} bytes (its ids and one fail_list entry per message), ` +
        `more than the ${limit} a task record may use (DynamoDB's 400 KB item limit, less ${RESULT_ROOM_BYTES} for the result): ` +
        'use shorter ids or fewer messages per task',
    );
  }
}

/** The zone refused the request (unknown program or ability, protocol mismatch, too many messages...). */
export class ZoneRejectedError extends ServiceError {
  override readonly name = 'ZoneRejectedError';
  readonly statusCode = 422;
  readonly code = 'zone_rejected';
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    super(`the zone rejected the task: ${errcode} ${errmsg}`);
  }
}

/**
 * This deployment's call budget for the corp is spent until `retryAt` (`BUDGET_PER_MINUTE` /
 * `BUDGET_PER_HOUR`): nothing was sent to the zone; retry then.
 */
export class BudgetSpentError extends ServiceError {
  override readonly name = 'BudgetSpentError';
  readonly statusCode = 503;
  readonly code = 'budget_spent';
  constructor(readonly retryAt: number) {
    super(
      "this deployment's call budget for the corp is spent (BUDGET_PER_MINUTE / BUDGET_PER_HOUR); nothing was created",
    );
  }
}

/**
 * WeCom said the corp is over its call limit (45009 / 45033), now or moments ago: the corp backs off
 * until `retryAt`. Nothing was created. Calls made elsewhere (other apps of the corp) count too.
 */
export class ZoneRateLimitedError extends ServiceError {
  override readonly name = 'ZoneRateLimitedError';
  readonly statusCode = 503;
  readonly code = 'zone_rate_limited';
  constructor(
    readonly retryAt: number,
    /** WeCom's answer, when this request got it (else an earlier call did). */
    readonly errcode?: number,
  ) {
    super(
      `WeCom says the corp is over its call limit${errcode === undefined ? '' : ` (${errcode})`}; nothing was created`,
    );
  }
}

/**
 * The zone created the task, but it could not be recorded here, so it is not tracked or polled. Not
 * "safe to retry": a retry creates another zone task. `jobid` is the zone's, when it is printable.
 */
export class TaskNotRecordedError extends ServiceError {
  override readonly name = 'TaskNotRecordedError';
  readonly statusCode = 502;
  readonly code = 'task_not_recorded';
  constructor(
    readonly jobid: string | undefined,
    readonly reason: string,
    message?: string,
  ) {
    super(
      message ??
        `the zone created ${jobid === undefined ? 'a task' : `task ${jobid}`}, but it could not be recorded here (${reason}); ` +
          'it is not tracked or polled, and submitting again creates another zone task',
    );
  }
}

/**
 * The zone could not be reached or is busy: the request itself may be fine. `reach` says whether the
 * zone may have created the task anyway (`unknown`: a timeout or broken answer after the request was
 * sent), in which case a retry may leave a second task at the zone.
 */
export class ZoneUnavailableError extends ServiceError {
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

  /**
   * 502 `zone_outcome_unknown` when the zone may have created the task (not 503: a client that
   * retries on 503 could leave a second task); 503 `zone_misconfigured` when this deployment's
   * settings are wrong; else 503 `zone_unavailable`, nothing created, retry later.
   */
  get code(): 'zone_outcome_unknown' | 'zone_misconfigured' | 'zone_unavailable' {
    if (this.reach === 'unknown') return 'zone_outcome_unknown';
    return this.detail?.misconfigured ? 'zone_misconfigured' : 'zone_unavailable';
  }

  get statusCode(): number {
    return this.code === 'zone_outcome_unknown' ? 502 : 503;
  }
}
