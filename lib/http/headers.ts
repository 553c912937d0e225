/**
 * Reading request headers as API Gateway's HTTP API delivers them (payload format 2.0): one string
 * per header name, where a header sent more than once arrives as its values joined with `,`
 * ("Duplicate headers are combined with commas and included in the headers field", AWS: "Working
 * with AWS Lambda proxy integrations for HTTP APIs", payload format 2.0). The local server builds its
 * events the same way (`lib/local/apiServer.ts`), so both answer alike. Every header a handler reads
 * goes through {@link singleHeader}.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { HttpError } from './errors.js';

/** How API Gateway joins the values of a repeated header, and how the local server does too. */
export const REPEATED_HEADER_SEPARATOR = ',';

/**
 * The raw value of a request header, or undefined when it is absent.
 *
 * @param name the header's name in lower case (the form Node and API Gateway's HTTP API use)
 */
export function headerValue(event: Pick<APIGatewayProxyEventV2, 'headers'>, name: string): string | undefined {
  const headers = event.headers ?? {};
  return headers[name] ?? headers[name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase())];
}

/**
 * A header that carries one value (`Idempotency-Key`, `Content-Type`). A comma in it means it was
 * sent more than once (API Gateway joined the copies) or holds a comma itself: either way it is
 * ambiguous, so it is refused with a 400 naming the header rather than read as one value here and
 * another there.
 *
 * @param label the header's name as the error names it, e.g. `Idempotency-Key`
 * @throws {HttpError} 400 `invalid_request` when the value holds a comma
 */
export function singleHeader(event: Pick<APIGatewayProxyEventV2, 'headers'>, label: string): string | undefined {
  const value = headerValue(event, label.toLowerCase());
  if (value !== undefined && value.includes(REPEATED_HEADER_SEPARATOR)) {
    throw new HttpError(
      400,
      'invalid_request',
      `${label}: sent more than once, or holds a comma; send it once, without commas (a repeated header arrives joined with ",", which is ambiguous)`,
    );
  }
  return value;
}
