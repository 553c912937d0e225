/**
 * The API's own wire formats, defined once: the `POST /tasks` body, the `Idempotency-Key` header, and
 * the 202 answer. The zone protocol is in `lib/protocol/zone.ts`, the task view and jobid rules in
 * `lib/tasks/` (`task.ts`, `jobid.ts`), the error body in `lib/http/errors.ts`. The handlers validate
 * with these, the OpenAPI document is generated from them, and the CLI reads answers with them.
 */
import * as z from 'zod';
import { CorpIdSchema } from '../budget/port.js';
import { createProgramTaskRequestShape } from '../protocol/zone.js';
import { SubmittedTaskSchema } from '../tasks/task.js';

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
  /** Whose WeCom call budget the task uses (a provider serving several corps); default `DEFAULT_CORP_ID`. */
  corp_id: CorpIdSchema.optional(),
});
export type CreateTaskBody = z.infer<typeof CreateTaskBodySchema>;

/** Idempotency-Key: 1..255 visible ASCII characters (as the IETF draft and Stripe accept). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
/** `Idempotency-Key`, as `POST /tasks` checks it (and the CLI before it sends one). */
export const IdempotencyKeySchema = z.string().regex(IDEMPOTENCY_KEY_PATTERN);

/** The EventBridge detail-type of a create request (`createFromEvent`; serverless.yml's rule matches it). */
export const CREATE_DETAIL_TYPE = 'CreateProgramTask';

/** The 202 answer of `POST /tasks`: the task view's jobid and fail_list, while it is PENDING. */
export const CreatedTaskSchema = SubmittedTaskSchema;
