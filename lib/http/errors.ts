/**
 * Errors that become HTTP answers. Their messages name the problem (a field, a limit, a code) and
 * never quote the request body.
 */
export interface ErrorIssue {
  /** Where in the body, as `msg_list[3].encrypt_info.secret_key`. */
  path: string;
  message: string;
}

export class HttpError extends Error {
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
