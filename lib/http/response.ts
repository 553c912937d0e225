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
  return jsonResponse(
    error.statusCode,
    { error: error.code, message: error.message, ...error.details },
    error.headers,
  );
}

export const internalErrorResponse = () =>
  errorResponse(new HttpError(500, 'internal_error', 'the request could not be completed; it is safe to retry'));
