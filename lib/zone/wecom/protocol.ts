/**
 * WeCom's public HTTPS API for apps outside the zone (spec section 1): the wire shapes of `gettoken`,
 * `async_program_task` and `async_program_result`, and how they map onto the zone port's
 * `create_program_task` / `get_program_task_result`.
 *
 * The mapping ([DECISION], docs/reach-your-corp.md "The wecom transport (async_program_task)"):
 * - `create_program_task` → `POST /cgi-bin/chatdata/async_program_task` with
 *   `{program_id: <zone program>, ability_id: <its ability>, request_data: <the create_program_task
 *   request JSON, verbatim>}`. The zone program and ability are configured (WECOM_ZONE_PROGRAM_ID /
 *   WECOM_ZONE_ABILITY_ID), not taken from the request: the request's own `program_id` / `ability_id`
 *   name the analysis program and travel inside `request_data`. The zone program is expected to run
 *   `create_program_task` with it, wait for the result, and report the analysis program's
 *   `{errcode, result}` as its own (`program_async_job_call_back`).
 *   Answer `{errcode, errmsg, jobid}` → `{errcode, errmsg, jobid, fail_list: []}` (the public API
 *   reports no create-time duplicates).
 * - `get_program_task_result` → `POST /cgi-bin/chatdata/async_program_result` with `{jobid}`.
 *   Answer `{errcode, errmsg, response_errcode, response_data}` → the same fields, `fail_list` passed
 *   through when WeCom sends one, `[]` otherwise.
 */
import * as z from 'zod';

export const DEFAULT_WECOM_API_BASE_URL = 'https://qyapi.weixin.qq.com';

export const WECOM_PATH = {
  gettoken: '/cgi-bin/gettoken',
  syncCallProgram: '/cgi-bin/chatdata/sync_call_program',
  asyncProgramTask: '/cgi-bin/chatdata/async_program_task',
  asyncProgramResult: '/cgi-bin/chatdata/async_program_result',
} as const;

/** WeCom global errcodes about credentials (spec section 5). */
export const WECOM_ERRCODE = {
  /** `corpsecret` wrong (also: a secret rotated since we read it). */
  invalidSecret: 40001,
  invalidCorpId: 40013,
  /** The access token is not valid (unknown, revoked, or WeCom ended it early). */
  invalidAccessToken: 40014,
  missingAccessToken: 41001,
  accessTokenExpired: 42001,
  /** The app may not call this API (its permissions in the admin console). */
  apiForbidden: 48002,
  /** The request comes from an IP outside the app's trusted IPs (企业可信IP). */
  ipNotAllowed: 60020,
} as const;

/** Answers that mean "this token is no good": refresh once, replay once. */
export const TOKEN_REFUSED_ERRCODES: ReadonlySet<number> = new Set([
  WECOM_ERRCODE.invalidAccessToken,
  WECOM_ERRCODE.missingAccessToken,
  WECOM_ERRCODE.accessTokenExpired,
]);

/**
 * Answers about us, not the task: the app lacks the API permission or calls from an untrusted IP.
 * They are transport failures (the poller keeps the task and tries again; POST /tasks answers 503),
 * never a final FAILED for a task that a configuration fix would let finish.
 */
export const CALLER_REFUSED_ERRCODES: ReadonlySet<number> = new Set([
  WECOM_ERRCODE.apiForbidden,
  WECOM_ERRCODE.ipNotAllowed,
]);

/**
 * The vendor SDK code a credential failure is reported with (`Invoke` -10004, "signature mismatch":
 * the zone did not accept who we are). Like every transport failure it is transient to the poller
 * and a 503 to `POST /tasks`, never a final answer about the task.
 */
export const SDK_CODE_CREDENTIALS = -10_004;

export const GettokenAnswerSchema = z.object({
  errcode: z.int().default(0),
  errmsg: z.string().default(''),
  access_token: z.string().optional(),
  expires_in: z.number().optional(),
});

const ErrcodeAnswer = {
  errcode: z.int(),
  errmsg: z.string().default(''),
};

export const AsyncProgramTaskAnswerSchema = z.object({
  ...ErrcodeAnswer,
  jobid: z.string().optional(),
});

export const AsyncProgramResultAnswerSchema = z.object({
  ...ErrcodeAnswer,
  response_errcode: z.int().optional(),
  response_data: z.string().optional(),
  fail_list: z.array(z.object({ errcode: z.int(), errmsg: z.string().default(''), msgid: z.string() })).optional(),
});

export interface WecomProgram {
  /** The zone program that receives `request_data` (`async_program_task`'s `program_id`). */
  programId: string;
  /** Its ability (`async_program_task`'s `ability_id`). */
  abilityId: string;
}

/** The body of `async_program_task`: the create request travels verbatim as `request_data`. */
export function asyncProgramTaskBody(program: WecomProgram, createRequestJson: string): string {
  return JSON.stringify({
    program_id: program.programId,
    ability_id: program.abilityId,
    request_data: createRequestJson,
  });
}

/** `async_program_task`'s answer as a `create_program_task` response. */
export function toCreateProgramTaskResponse(answer: z.infer<typeof AsyncProgramTaskAnswerSchema>): string {
  const { errcode, errmsg, jobid } = answer;
  return JSON.stringify({ errcode, errmsg, ...(jobid === undefined ? {} : { jobid }), fail_list: [] });
}

/** `async_program_result`'s answer as a `get_program_task_result` response. */
export function toGetProgramTaskResultResponse(answer: z.infer<typeof AsyncProgramResultAnswerSchema>): string {
  const { errcode, errmsg, response_errcode, response_data, fail_list } = answer;
  return JSON.stringify({
    errcode,
    errmsg,
    fail_list: fail_list ?? [],
    ...(response_errcode === undefined ? {} : { response_errcode }),
    ...(response_data === undefined ? {} : { response_data }),
  });
}

/** `sync_call_program`'s answer (WeCom doc 53295): `response_data` is the program's output JSON, a string. */
export const SyncCallProgramAnswerSchema = z.object({
  ...ErrcodeAnswer,
  response_data: z.string().optional(),
});

/** The body of `sync_call_program` (doc 53295): `request_data` must match the ability's input protocol. */
export function syncCallProgramBody(programId: string, abilityId: string, requestJson: string): string {
  return JSON.stringify({ program_id: programId, ability_id: abilityId, request_data: requestJson });
}
