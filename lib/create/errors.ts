/**
 * The errors of creating a task at the zone (`submitTask.ts`): what the zone or our budget answered,
 * and a task the zone created that could not be recorded. All public ({@link ServiceError}: HTTP
 * status and public code); `lib/api/errors.ts` words their answers. Messages name ids and codes, never request content.
 */
import { ServiceError } from '../errors.js';
import type { ZoneCallReach } from '../zone/port.js';

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
