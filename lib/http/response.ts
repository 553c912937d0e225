import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HttpError } from './errors.js';

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

/** The JSON error body every route answers with: `{error, message, ...details}`. */
export function errorResponse(error: HttpError): APIGatewayProxyStructuredResultV2 {
  return jsonResponse(error.statusCode, { error: error.code, message: error.message, ...error.details }, error.headers);
}

/**
 * An unexpected failure. It can only come before a zone task exists: after `create_program_task`
 * succeeded, every failure is answered for what it is (`lib/api/errors.ts`), so
 * this answer may say it created nothing.
 */
export const internalErrorResponse = () =>
  errorResponse(
    new HttpError(
      500,
      'internal_error',
      'the request could not be completed (an internal error); it created nothing, so it is safe to retry',
    ),
  );
