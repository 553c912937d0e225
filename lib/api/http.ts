/**
 * What the HTTP routes share: the handler type and the request schemas of the API (beyond the zone
 * protocol, which is in `lib/protocol/zone.ts`).
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import * as z from 'zod';
import { CorpIdSchema } from '../budget/port.js';
import { createProgramTaskRequestShape } from '../protocol/zone.js';
import { JobidPathSchema } from '../tasks/jobid.js';

/**
 * The API's body is a create_program_task request, plus an optional `callback_url` (kept by us, not
 * sent to the zone). Unknown top-level fields are refused, so a typo never passes silently.
 */
export const CreateTaskBodySchema = z.strictObject({
  ...createProgramTaskRequestShape,
  callback_url: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(2048)
    .optional(),
  /**
   * The corp the task is for: whose zone, token and call budget (docs/many-corps.md). Required when
   * the deployment serves several corps; otherwise `DEFAULT_CORP_ID` (or the only corp).
   */
  corp_id: CorpIdSchema.optional(),
});

/** Whether `callback_url` is accepted, and over plain HTTP (local development only). */
export interface CallbackPolicy {
  enabled: boolean;
  allowHttp: boolean;
  /** The setting that turns callbacks on where this runs, named when one is refused. */
  setting: 'CALLBACK_SECRET_PARAM' | 'CALLBACK_SIGNING_SECRET';
}

/**
 * The `{jobid}` path parameter: a jobid of `A-Z a-z 0-9 _ -`, or `~` + base64url of any other (as the
 * `location` of `POST /tasks` writes it; `lib/tasks/jobid.ts`).
 */
export const JobidSchema = JobidPathSchema;

export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;
