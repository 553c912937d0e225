/**
 * The errors of the tasks folder: storing a task record, and creating a task once per
 * Idempotency-Key. The public ones are {@link ServiceError}s (HTTP status and public code);
 * `lib/api/errors.ts` words their answers. Their messages name ids, counts and codes, never request content.
 */
import { ServiceError } from '../errors.js';
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
