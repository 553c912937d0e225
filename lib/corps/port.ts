/**
 * The corps one deployment serves, and how each is reached (docs/many-corps.md). A provider's app
 * comes in three kinds (seed document 53659; WeCom's 代开发 and third-party guides):
 *
 * - `self_built` (自建): the corp's own corpid + the app's secret → `gettoken` (doc 91039).
 * - `custom_app` (代开发): the corp's corpid + the secret WeCom issues per authorising corp, which is
 *   the `permanent_code` of `get_permanent_code` (doc 42542) → `gettoken`, as a self-built app (doc 42543).
 * - `third_party` (第三方): `suite_access_token` (suite_id + suite_secret + the latest suite_ticket,
 *   doc 14939) → `get_corp_token` (auth_corpid + permanent_code, doc 14944) → the corp's token.
 *
 * One entry per corp holds its kind, its secret or permanent code, whether it is still authorised,
 * and optional relay program / ability overrides (the stage's defaults otherwise). A suite (the
 * third-party app, or the 代开发 template) has its secret, the callback's Token and EncodingAESKey,
 * and the latest suite_ticket. All of these are secrets: they live in SSM Parameter Store
 * (`ssmStore.ts`) or, for `npm start`, a credentials file plus a 0600 store under DATA_DIR
 * (`localStore.ts`); never in the environment, a task record, a log line, a message or an error.
 */
import * as z from 'zod';
import { CorpIdSchema } from '../budget/port.js';

export const CORP_KINDS = ['self_built', 'custom_app', 'third_party'] as const;
export type CorpKind = (typeof CORP_KINDS)[number];

/** A suite id (third-party app id, or 代开发 template id `dk…`): an id, so it can be part of a key. */
export const SuiteIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _ . -');

const secretText = (what: string) =>
  z
    .string({ error: `required: ${what}` })
    .min(1, `must not be empty (${what})`)
    .max(2048, 'too long');

/** Per-corp overrides of the stage's relay program and abilities (`WECOM_RELAY_*`). */
const ProgramOverridesShape = {
  relay_program_id: z.string().min(1).optional(),
  relay_create_ability_id: z.string().min(1).optional(),
  relay_result_ability_id: z.string().min(1).optional(),
  /** `ZONE_TRANSPORT=wecom` only: the zone program and ability of `async_program_task`. */
  zone_program_id: z.string().min(1).optional(),
  zone_ability_id: z.string().min(1).optional(),
};

/**
 * One corp as stored (an SSM SecureString's JSON value, or a record of the local store). `secret`:
 * the app secret (self_built) or the 代开发 secret, i.e. its permanent code (custom_app);
 * `permanent_code`: a third-party app's. A deauthorised corp keeps its entry without any secret, so
 * its tasks can be refused by name.
 */
export const CorpEntrySchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('self_built'),
    status: z.literal('active').default('active'),
    secret: secretText('the app secret'),
    ...ProgramOverridesShape,
  }),
  z.strictObject({
    kind: z.literal('custom_app'),
    status: z.literal('active').default('active'),
    /** The 代开发 template that installed the app (callbacks for the corp arrive for it). */
    suite_id: SuiteIdSchema.optional(),
    secret: secretText('the 代开发 secret (the permanent_code of get_permanent_code)'),
    ...ProgramOverridesShape,
  }),
  z.strictObject({
    kind: z.literal('third_party'),
    status: z.literal('active').default('active'),
    suite_id: SuiteIdSchema,
    permanent_code: secretText('the permanent code (permanent_code of get_permanent_code)'),
    ...ProgramOverridesShape,
  }),
]);

/** A corp whose authorisation was cancelled (cancel_auth): no secret, only when and for which suite. */
export const DeauthorisedEntrySchema = z.strictObject({
  kind: z.enum(CORP_KINDS),
  status: z.literal('deauthorised'),
  suite_id: SuiteIdSchema.optional(),
  /** ISO time of the cancellation. */
  deauthorised_at: z.string(),
});

export const StoredCorpSchema = z.union([DeauthorisedEntrySchema, CorpEntrySchema]);
export type ActiveCorpEntry = z.output<typeof CorpEntrySchema>;
export type DeauthorisedEntry = z.output<typeof DeauthorisedEntrySchema>;
export type StoredCorp = ActiveCorpEntry | DeauthorisedEntry;

/** A suite's secrets: its own secret (get_suite_token) and the callback's Token and EncodingAESKey. */
export const SuiteEntrySchema = z.strictObject({
  /**
   * What the suite installs: a third-party app (corps get `third_party` entries) or a 代开发 template
   * (`dk…`; corps get `custom_app` entries whose secret is the permanent code, doc 42542).
   */
  kind: z.enum(['third_party', 'custom_app'], { error: 'must be third_party or custom_app' }),
  suite_secret: secretText('the suite secret'),
  /** The callback's Token (回调配置: Token), for msg_signature (doc 12976). */
  token: secretText('the callback Token'),
  /** The callback's EncodingAESKey: 43 characters of base64 (doc 12976). */
  encoding_aes_key: z.string().regex(/^[A-Za-z0-9+/]{43}$/, 'must be 43 characters of base64 (the EncodingAESKey)'),
});
export type SuiteEntry = z.output<typeof SuiteEntrySchema>;

/** The latest suite_ticket (doc 14947): WeCom pushes one every 10 minutes; it lives 30. */
export const SuiteTicketSchema = z.strictObject({
  ticket: z.string().min(1),
  /** The callback's TimeStamp (epoch seconds): an older ticket never replaces a newer one. */
  timestamp: z.int(),
});
export type SuiteTicket = z.output<typeof SuiteTicketSchema>;

export interface ReadOptions {
  /** Skip any cache: the value may have changed (a cancelled corp, a rotated secret, a new ticket). */
  forceFetch?: boolean;
}

/**
 * Where corp and suite credentials live. Reads may be cached briefly (adapter's max age); writes are
 * seen at once by the same process. Errors never carry a value read.
 */
export interface CorpCredentialStore {
  /** Where, for errors and logs (`ssm:/wecom-zone-tasks/prod`, `file:corps.json`): never a value. */
  readonly location: string;
  getCorp(corpId: string, options?: ReadOptions): Promise<StoredCorp | undefined>;
  /** Every corp with an entry (authorised or not). */
  listCorpIds(options?: ReadOptions): Promise<string[]>;
  putCorp(corpId: string, entry: StoredCorp): Promise<void>;
  getSuite(suiteId: string, options?: ReadOptions): Promise<SuiteEntry | undefined>;
  getTicket(suiteId: string, options?: ReadOptions): Promise<SuiteTicket | undefined>;
  putTicket(suiteId: string, ticket: SuiteTicket): Promise<void>;
}

export {
  CorpNotServedError,
  CredentialStoreError,
  corpDeauthorised,
  corpRequired,
  unknownCorp,
} from './errors.js';

/** What a task ended FAILED with when its corp cancelled the app's authorisation. */
export const DEAUTHORISED_TASK_ERRMSG =
  'the corp cancelled its authorisation of the app (cancel_auth): the task can no longer be polled';

/**
 * Admits a request's corp before anything is called: the corp the task is recorded with.
 *
 * @throws {CorpNotServedError} no corp named while several are served; an unknown or deauthorised corp
 */
export interface CorpGate {
  admit(corpId: string | undefined): Promise<string>;
}

/** The budget key of a suite's own calls (get_suite_token): apart from every corp's. */
export function suiteBudgetKey(suiteId: string): string {
  return `suite.${suiteId}`.slice(0, 64);
}

export { CorpIdSchema };
