/**
 * The errors of the HTTP edge: a request that cannot be read or validated, and the answer any
 * {@link ServiceError} becomes (`lib/api/errors.ts`). Their messages name the problem (a field, a
 * limit, a code) and never quote the request body.
 */
import * as z from 'zod';
import { ServiceError } from '../errors.js';

/** One entry of `issues` in a 400 `invalid_request`. */
export const ErrorIssueSchema = z.object({
  /** Where in the body, as `msg_list[3].encrypt_info.secret_key`. */
  path: z.string(),
  message: z.string(),
});
export type ErrorIssue = z.infer<typeof ErrorIssueSchema>;

/** Every error answer: `{error, message, ...details}` (`response.ts` `errorResponse`). */
export const ErrorBodySchema = z.object({
  /** A stable machine-readable code, e.g. `invalid_request`. */
  error: z.string(),
  /** `<field>: <problem>`; never quotes the request body. */
  message: z.string(),
  /** 400 `invalid_request`: every offending field (at most 20). */
  issues: z.array(ErrorIssueSchema).optional(),
  /** 422 `zone_rejected` / 503 `zone_unavailable`: the zone's (or the SDK's) code. */
  errcode: z.int().optional(),
  /** 422 `zone_rejected`: the zone's message. */
  errmsg: z.string().optional(),
  /** 502 `task_not_recorded`: the jobid of the task the zone created but this service does not track. */
  jobid: z.string().optional(),
  /** 403 `corp_deauthorised` / 404 `unknown_corp`: the corp the request named. */
  corp_id: z.string().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** An HTTP answer with its status, public code, message, extra body fields and headers. */
export class HttpError extends ServiceError {
  override readonly name: string = 'HttpError';
  constructor(
    readonly statusCode: number,
    /** A stable machine-readable code, e.g. `invalid_request`. */
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function notFound(message: string): HttpError {
  return new HttpError(404, 'not_found', message);
}
