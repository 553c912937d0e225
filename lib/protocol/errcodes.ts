/**
 * WeCom error codes this project reads or produces (spec section 5), and how the poller treats them.
 */
export const ERRCODE = {
  ok: 0,
  systemBusy: -1,
  invalidParameter: 40058,
  frequencyLimit: 45009,
  concurrencyLimit: 45033,
  msgidInvalid: 710601,
  msgtypeUnsupported: 710602,
  secretKeyInvalid: 710603,
  msgidDuplicated: 710613,
  tooManyMessages: 710623,
  abilityNotFound: 710636,
  allMessagesFailed: 710637,
  programCallFailed: 710638,
  resultPending: 710642,
  jobidInvalid: 701151,
  outputProtocolMismatch: 790014,
  inputProtocolMismatch: 790016,
  programNotLinked: 790020,
  stillExecuting: 790023,
  programNotFound: 800001,
} as const;

/** Vendor SDK `Invoke` return codes: transport level, separate from `errcode`. */
export const SDK_CODE = {
  internal: -10001,
  networkFailure: -10002,
  badHttpStatus: -10003,
  unknownApi: -10006,
  invalidJson: -10009,
} as const;

/** Vendor SDK return codes are -10001..-10009; errcodes never fall in that range. */
export function isSdkCode(code: number): boolean {
  return code <= -10_000 && code > -11_000;
}

/** "Not finished yet" answers of `get_program_task_result` (spec section 3; configurable). */
export const DEFAULT_PENDING_ERRCODES: readonly number[] = [ERRCODE.resultPending, ERRCODE.stillExecuting];

/** Worth trying again later: the zone or WeCom is busy, not the request wrong. */
export const DEFAULT_TRANSIENT_ERRCODES: readonly number[] = [
  ERRCODE.systemBusy,
  ERRCODE.frequencyLimit,
  ERRCODE.concurrencyLimit,
];
