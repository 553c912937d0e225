/**
 * Reading API Gateway requests: headers, the JSON body and zod validation, answered with a 4xx that
 * names the problem. The handlers take HTTP API (payload 2.0) events; REST API (payload 1.0) and
 * ALB events carry the same `headers`, `body` and `isBase64Encoded` fields and work too.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type * as z from 'zod';
import { formatPath } from '../shared/issuePath.js';
import { type ErrorIssue, HttpError } from './errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A request header's value, whatever the letter case of its name. Header names are case-insensitive
 * (RFC 9110 section 5.1): an HTTP API (payload 2.0) delivers them lowercased, but a REST API
 * (payload 1.0) and an ALB keep the client's case (`Idempotency-Key`, `IDEMPOTENCY-KEY`). Every
 * handler reads headers through this one function. Names that differ only in case are one field:
 * their values are joined with ", " in the event's order (RFC 9110 section 5.3).
 *
 * @param headers the event's `headers` (may be null in REST API events without headers)
 * @param name the header name, any case
 * @returns the value, or undefined when the request has no such header
 */
export function headerValue(
  headers: Readonly<Record<string, string | undefined>> | null | undefined,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined && key.toLowerCase() === wanted) values.push(value);
  }
  return values.length === 0 ? undefined : values.join(', ');
}

/**
 * How API Gateway's HTTP API (payload 2.0) joins the values of a header sent more than once
 * ("Duplicate headers are combined with commas and included in the headers field", AWS: "Working
 * with AWS Lambda proxy integrations for HTTP APIs"); the local server builds its events the same way.
 */
export const REPEATED_HEADER_SEPARATOR = ',';

/**
 * A header that carries one value (`Idempotency-Key`, `Content-Type`), read through
 * {@link headerValue}. A comma in it means it was sent more than once (API Gateway joined the copies,
 * or the event held it under two letter cases) or holds a comma itself: either way it is ambiguous,
 * so it is refused with a 400 naming the header rather than read as one value here and another there.
 *
 * @param label the header's name as the error names it, e.g. `Idempotency-Key`
 * @throws {HttpError} 400 `invalid_request` when the value holds a comma
 */
export function singleHeader(
  headers: Readonly<Record<string, string | undefined>> | null | undefined,
  label: string,
): string | undefined {
  const value = headerValue(headers, label);
  if (value?.includes(REPEATED_HEADER_SEPARATOR)) {
    throw new HttpError(
      400,
      'invalid_request',
      `${label}: sent more than once, or holds a comma; send it once, without commas (a repeated header arrives joined with ",", which is ambiguous)`,
    );
  }
  return value;
}

/** Parse the JSON body of a request: 415 for another media type, 400 for bytes that are not JSON. */
export function readJsonBody(event: Pick<APIGatewayProxyEventV2, 'headers' | 'body' | 'isBase64Encoded'>): unknown {
  const contentType = singleHeader(event.headers, 'Content-Type');
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== undefined && mediaType !== 'application/json' && !mediaType.endsWith('+json')) {
    throw new HttpError(415, 'unsupported_media_type', `content-type must be application/json, got ${mediaType}`);
  }
  if (event.body === undefined || event.body === '') {
    throw new HttpError(400, 'invalid_json', 'the request body is empty; a JSON object is required');
  }
  let text = event.body;
  if (event.isBase64Encoded) {
    try {
      text = utf8.decode(Buffer.from(event.body, 'base64'));
    } catch {
      throw new HttpError(400, 'invalid_encoding', 'the request body is not valid UTF-8');
    }
  }
  try {
    return JSON.parse(text);
  } catch (_error) {
    // V8's message gives the position, and may quote a few characters: answer with the kind only.
    throw new HttpError(400, 'invalid_json', 'the request body is not valid JSON');
  }
}

/** Validate with a zod schema; 400 naming every offending field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues: ErrorIssue[] = parsed.error.issues.slice(0, 20).map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const path = formatPath(issue.path);
    return keys.length > 0
      ? { path, message: `unknown field(s): ${keys.slice(0, 5).join(', ')}` }
      : { path, message: issue.message };
  });
  const first = issues[0] ?? { path: '(body)', message: 'invalid' };
  throw new HttpError(400, 'invalid_request', `${first.path}: ${first.message}`, { issues });
}
