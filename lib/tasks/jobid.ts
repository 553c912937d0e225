/**
 * Jobids: the zone's, kept as it gave them, and how they appear in a URL. WeCom documents a jobid as
 * an opaque string (doc 53659), so one may hold `+ / =` (base64) or run long; every jobid the API
 * hands out in `location` must be readable back with `GET`, on AWS and locally alike.
 *
 * In a path, a jobid of `A-Z a-z 0-9 _ -` appears as itself; any other is written `~` + base64url of
 * its UTF-8 bytes. API Gateway's HTTP API decodes the path before routing, so `%2F` would split the
 * segment and never reach the route; `~`-forms hold only unreserved characters and survive every hop.
 */
import * as z from 'zod';

/** Longest jobid stored: a DynamoDB partition key may have 2048 bytes; this leaves room. */
export const MAX_JOBID_BYTES = 1024;

/** Task records share their table with the call budget's counters, whose keys start with this. */
export const RESERVED_KEY_PREFIX = 'budget#';

/** The characters a jobid may show as they are in a path (and base64url's alphabet, so its `~`-form too). */
const PATH_CHARS = 'A-Za-z0-9_-';
const PLAIN_JOBID = new RegExp(`^[${PATH_CHARS}]+$`);
// C0 controls, DEL and C1 controls: never part of an id WeCom hands out, and unsafe on a terminal.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this rejects
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A jobid this service can store and serve: 1–1024 UTF-8 bytes, no control characters, not a reserved key. */
export const StoredJobidSchema = z
  .string()
  .min(1, 'is empty')
  .refine((jobid) => Buffer.byteLength(jobid) <= MAX_JOBID_BYTES, `is longer than ${MAX_JOBID_BYTES} bytes`)
  .refine((jobid) => !CONTROL.test(jobid), 'holds control characters')
  .refine((jobid) => !jobid.startsWith(RESERVED_KEY_PREFIX), `starts with the reserved "${RESERVED_KEY_PREFIX}"`);

/** Why `jobid` cannot be stored, or undefined when it can. */
export function jobidProblem(jobid: string): string | undefined {
  const parsed = StoredJobidSchema.safeParse(jobid);
  return parsed.success ? undefined : parsed.error.issues[0]?.message;
}

/** Longest path segment: `~` and the base64url of the longest jobid. */
const MAX_SEGMENT_LENGTH = 1 + Math.ceil((MAX_JOBID_BYTES * 4) / 3);

/**
 * The jobid path parameter as `GET /tasks/{jobid}` takes it: a plain jobid, or `~` + base64url. The
 * OpenAPI document shows this pattern; {@link jobidFromPathSegment} does the rest of the check.
 */
export const JobidPathSchema = z
  .string()
  .regex(
    new RegExp(`^(?:[${PATH_CHARS}]{1,${MAX_JOBID_BYTES}}|~[${PATH_CHARS}]{2,${MAX_SEGMENT_LENGTH - 1}})$`),
    'is not a jobid',
  );

/**
 * The path segment of a jobid: itself when it is made of `A-Z a-z 0-9 _ -`, else `~` + base64url.
 *
 * @example
 * jobidPathSegment('Yx3kqJ0b') // 'Yx3kqJ0b'
 * jobidPathSegment('Yx3+a/Q==') // '~WXgzK2EvUT09'
 */
export function jobidPathSegment(jobid: string): string {
  return PLAIN_JOBID.test(jobid) ? jobid : `~${Buffer.from(jobid, 'utf8').toString('base64url')}`;
}

/** Where a task is: the `location` of `POST /tasks`. */
export function taskLocation(jobid: string): string {
  return `/tasks/${jobidPathSegment(jobid)}`;
}

/**
 * The jobid a path segment names, or undefined when the segment is not one. A `~`-form must be the
 * canonical encoding of a storable jobid that is not plain (so each jobid has exactly one path).
 */
export function jobidFromPathSegment(segment: string): string | undefined {
  if (!JobidPathSchema.safeParse(segment).success) return undefined;
  if (!segment.startsWith('~')) return segment;
  const bytes = Buffer.from(segment.slice(1), 'base64url');
  const jobid = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (jobidPathSegment(jobid) !== segment || jobidProblem(jobid) !== undefined) return undefined;
  return jobid;
}
