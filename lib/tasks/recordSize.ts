/**
 * Keeping every task record (and its Idempotency-Key record) inside DynamoDB's 400 KB item limit,
 * at every write: a create request whose record could outgrow it is refused before the zone is
 * called (a task created at the zone but not storable would be lost); an error text is cut to a
 * bounded length; a final answer too large to store ends the task FAILED with the reason, so the
 * finish write always succeeds. Sizes follow `itemSize.ts`.
 */
import type { CreateProgramTaskRequest } from '../protocol/zone.js';
import { TaskTooLargeError } from './errors.js';
import { itemBytes, truncateUtf8 } from './itemSize.js';
import { MAX_JOBID_BYTES } from './jobid.js';
import type { FailedMessage, TaskOutcome, TaskRecord } from './task.js';

/** What a task record may use: DynamoDB's 400 KB (409 600 bytes) less a margin for rounding. */
export const MAX_TASK_RECORD_BYTES = 400_000;
/** Room a new task must leave for its result (`response_data`): a create that leaves less is refused. */
export const RESULT_ROOM_BYTES = 64 * 1024;
/** The zone's errmsg of a task is kept up to this many bytes. */
export const MAX_STORED_ERRMSG_BYTES = 1024;
/** …and that of one `fail_list` entry (WeCom's carry a hint and a link: about 120 bytes). */
export const MAX_ENTRY_ERRMSG_BYTES = 160;

/** A fail_list as stored: `{errcode, errmsg, msgid}` only (never a key), errmsg bounded. */
export function storedFailList(list: readonly FailedMessage[]): FailedMessage[] {
  return list.map(({ errcode, errmsg, msgid }) => ({
    errcode,
    errmsg: truncateUtf8(errmsg, MAX_ENTRY_ERRMSG_BYTES),
    msgid,
  }));
}

/** A task's errmsg as stored. */
export function storedErrmsg(errmsg: string | undefined): string | undefined {
  return errmsg === undefined ? undefined : truncateUtf8(errmsg, MAX_STORED_ERRMSG_BYTES);
}

/**
 * The attribute the DynamoDB adapter adds to a PENDING task's item for the sweeper's index
 * (`pending_shard`: `P0`…`P7`, `dynamoStore.ts`), counted in the worst case though a task loses it when it ends.
 */
const SHARD_ATTRIBUTE_BYTES = itemBytes({ pending_shard: 'P0' });

const LONGEST_TIME = new Date(8_640_000_000_000_000).toISOString();
const BIG = -2_147_483_647;
/** Epoch milliseconds with the most significant digits a record will hold. */
const WIDE_MS = 9_999_999_999_999;

/**
 * The most a task of this request can ever store without its result: the longest jobid, every field
 * at its widest, and every message of `msg_list` in a fail_list entry with the longest errmsg (a
 * message is dropped as a duplicate at creation or reported at the end, never both).
 */
export function worstCaseRecordBytes(
  request: CreateProgramTaskRequest,
  options: { callbackUrl?: string; corpId: string },
): number {
  const record: TaskRecord = {
    jobid: 'x'.repeat(MAX_JOBID_BYTES),
    status: 'SUCCEEDED',
    program_id: request.program_id,
    ability_id: request.ability_id,
    corp_id: options.corpId,
    escape_type: request.escape_type,
    message_count: BIG,
    duplicate_list: [],
    attempts: BIG,
    chain: BIG,
    created_at: LONGEST_TIME,
    updated_at: LONGEST_TIME,
    next_poll_at: WIDE_MS,
    deadline_at: WIDE_MS,
    expires_at: BIG,
    last_errcode: BIG,
    transient_streak: BIG,
    errcode: BIG,
    errmsg: 'x'.repeat(MAX_STORED_ERRMSG_BYTES),
    response_errcode: BIG,
    fail_list: request.msg_list.map(({ msgid }) => ({
      errcode: BIG,
      errmsg: 'x'.repeat(MAX_ENTRY_ERRMSG_BYTES),
      msgid,
    })),
    completed_at: LONGEST_TIME,
    callback_url: options.callbackUrl,
    event_published_at: LONGEST_TIME,
    event_attempts: BIG,
    event_abandoned: false,
    callback_delivered_at: LONGEST_TIME,
    callback_attempts: BIG,
    callback_abandoned: false,
  };
  return itemBytes(record) + SHARD_ATTRIBUTE_BYTES;
}

/**
 * The most the request's Idempotency-Key record can need: the 202 answer it keeps is JSON, where a
 * control character takes six bytes, so it is sized on its own.
 */
export function worstCaseAnswerBytes(request: CreateProgramTaskRequest): number {
  const answer = {
    jobid: 'x'.repeat(MAX_JOBID_BYTES),
    status: 'PENDING',
    fail_list: request.msg_list.map(({ msgid }) => ({
      errcode: BIG,
      errmsg: 'x'.repeat(MAX_ENTRY_ERRMSG_BYTES),
      msgid,
    })),
  };
  // The key digest, fingerprint, status and times around it: well under 1 KB.
  return Buffer.byteLength(JSON.stringify(answer), 'utf8') + 1024;
}

/** Throws {@link TaskTooLargeError} when a task of this request could not always be stored. */
export function checkRecordFits(
  request: CreateProgramTaskRequest,
  options: { callbackUrl?: string; corpId: string },
): void {
  const bytes = Math.max(worstCaseRecordBytes(request, options), worstCaseAnswerBytes(request));
  const limit = MAX_TASK_RECORD_BYTES - RESULT_ROOM_BYTES;
  if (bytes > limit) throw new TaskTooLargeError(bytes, limit);
}

/**
 * The outcome as it can be stored on `task`: as given when the finished record fits; else FAILED
 * without `response_data` (and without the `fail_list` entries, if even that is too much), with an
 * errmsg that says what did not fit, so the finish write succeeds and the task ends.
 */
export function storableOutcome(task: TaskRecord, outcome: TaskOutcome): TaskOutcome {
  const bounded: TaskOutcome = {
    ...outcome,
    errmsg: storedErrmsg(outcome.errmsg),
    fail_list: outcome.fail_list && storedFailList(outcome.fail_list),
  };
  const finished = (candidate: TaskOutcome) => {
    const at = LONGEST_TIME;
    return itemBytes({ ...task, ...candidate, updated_at: at, completed_at: at });
  };
  if (finished(bounded) <= MAX_TASK_RECORD_BYTES) return bounded;
  const dataBytes = Buffer.byteLength(bounded.response_data ?? '', 'utf8');
  const withoutData: TaskOutcome = { ...bounded, status: 'FAILED', response_data: undefined };
  const room = MAX_TASK_RECORD_BYTES - finished({ ...withoutData, errmsg: 'x'.repeat(MAX_STORED_ERRMSG_BYTES) });
  const failures = bounded.fail_list?.length ?? 0;
  const reason =
    `response_data exceeds the ${Math.max(0, room)} bytes left in the task record: the program answered ${dataBytes} bytes` +
    (failures > 0 ? ` and ${failures} fail_list entries` : '') +
    ` (a record holds at most ${MAX_TASK_RECORD_BYTES}, DynamoDB's 400 KB item limit); the result is not kept`;
  const failed: TaskOutcome = { ...withoutData, errmsg: storedErrmsg(reason) };
  if (finished(failed) <= MAX_TASK_RECORD_BYTES) return failed;
  // Only a record created before the size check could get here: drop the entries too, and say so.
  return {
    ...failed,
    fail_list: undefined,
    errmsg: storedErrmsg(`${reason}; the ${failures} fail_list entries are not kept either`),
  };
}
