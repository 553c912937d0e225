/**
 * What the HTTP routes share: the handler type and the request schemas of the API (beyond the zone
 * protocol, which is in `lib/protocol/zone.ts`).
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import * as z from 'zod';
import { CorpIdSchema } from '../budget/port.js';
import { createProgramTaskRequestShape } from '../protocol/zone.js';

/**
 * The API's body is a create_program_task request, plus an optional `callback_url` (kept by us, not
 * sent to the zone). Unknown top-level fields are refused, so a typo never passes silently.
 */
export const CreateTaskBodySchema = z.strictObject({
  ...createProgramTaskRequestShape,
  callback_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048).optional(),
  /** Whose WeCom call budget the task uses (a provider serving several corps); default `DEFAULT_CORP_ID`. */
  corp_id: CorpIdSchema.optional(),
});

/** Whether `callback_url` is accepted, and over plain HTTP (local development only). */
export interface CallbackPolicy {
  enabled: boolean;
  allowHttp: boolean;
}

/** jobids are opaque, but never need more than this; anything else is not a jobid. */
export const JobidSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'is not a jobid');

export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;
