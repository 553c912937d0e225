/**
 * The WECOM_* environment of the two WeCom transports, validated at start-up (and before packaging,
 * `config/serverless-config-check.cjs`) with errors that name the variable. Kept apart from the
 * transports so a function can check it without loading them. The corp secret itself is never an
 * environment variable: the environment names the SSM parameter (WECOM_CORP_SECRET_PARAM) or the
 * Secrets Manager secret (WECOM_CORP_SECRET_ARN); `npm start` may also read a file
 * (WECOM_CORP_SECRET_FILE).
 */
import * as z from 'zod';
import { unsetIfBlank } from '../../shared/env.js';
import { ZoneTimeoutEnvSchema } from '../timeout.js';
import { DEFAULT_REFRESH_EARLY_SECONDS } from './accessToken.js';
import { DEFAULT_WECOM_API_BASE_URL } from './protocol.js';

/** How long a secret read from SSM / Secrets Manager is cached. */
export const DEFAULT_SECRET_MAX_AGE_SECONDS = 300;

// serverless.yml writes `${env:X, ''}`: a blank value means "not set" (`unsetIfBlank`, the rule of `parseEnv`).
const required = (meaning: string) => unsetIfBlank(z.string({ error: `required: ${meaning}` }).trim());
const optionalName = unsetIfBlank(z.string().trim().optional());

/** What every WeCom transport needs: the corp, where its app secret lives, and WeCom's API. */
const WecomAppShape = {
  WECOM_CORP_ID: required('the corp id (corpid)'),
  WECOM_CORP_SECRET_PARAM: optionalName,
  WECOM_CORP_SECRET_ARN: optionalName,
  /** `npm start` only: a file holding the secret (trailing CR/LF ignored). */
  WECOM_CORP_SECRET_FILE: optionalName,
  WECOM_CORP_SECRET_JSON_KEY: optionalName,
  /** Guarded against: a secret in plain configuration. */
  WECOM_CORP_SECRET: optionalName,
  WECOM_API_BASE_URL: unsetIfBlank(z.url({ protocol: /^https?$/ }).default(DEFAULT_WECOM_API_BASE_URL)),
  WECOM_TOKEN_REFRESH_EARLY_SECONDS: unsetIfBlank(
    z.coerce.number().int().min(0).max(3600).default(DEFAULT_REFRESH_EARLY_SECONDS),
  ),
  WECOM_SECRET_MAX_AGE_SECONDS: unsetIfBlank(
    z.coerce.number().int().min(0).max(86_400).default(DEFAULT_SECRET_MAX_AGE_SECONDS),
  ),
  ...ZoneTimeoutEnvSchema.shape,
};

interface SecretLocations {
  WECOM_CORP_SECRET?: string;
  WECOM_CORP_SECRET_PARAM?: string;
  WECOM_CORP_SECRET_ARN?: string;
  WECOM_CORP_SECRET_FILE?: string;
}

function checkSecretLocation(env: SecretLocations, context: z.RefinementCtx): void {
  if (env.WECOM_CORP_SECRET !== undefined) {
    context.addIssue({
      code: 'custom',
      path: ['WECOM_CORP_SECRET'],
      message:
        'never put the corp secret in the environment: store it in SSM (WECOM_CORP_SECRET_PARAM) or Secrets Manager (WECOM_CORP_SECRET_ARN)',
    });
  }
  const given = [env.WECOM_CORP_SECRET_PARAM, env.WECOM_CORP_SECRET_ARN, env.WECOM_CORP_SECRET_FILE].filter(
    (value) => value !== undefined,
  ).length;
  if (given !== 1) {
    context.addIssue({
      code: 'custom',
      path: ['WECOM_CORP_SECRET_PARAM'],
      message:
        'set exactly one of WECOM_CORP_SECRET_PARAM (SSM parameter name) and WECOM_CORP_SECRET_ARN (Secrets Manager secret); npm start also takes WECOM_CORP_SECRET_FILE',
    });
  }
}

/** `ZONE_TRANSPORT=wecom`: `async_program_task` to a zone program of the provider's own. */
export const WecomEnvSchema = z
  .object({
    ...WecomAppShape,
    WECOM_ZONE_PROGRAM_ID: required('the zone program that receives request_data'),
    WECOM_ZONE_ABILITY_ID: required("the zone program's ability"),
  })
  .superRefine(checkSecretLocation, { when: () => true });
export type WecomEnv = z.infer<typeof WecomEnvSchema>;

/** `ZONE_TRANSPORT=relay`: `sync_call_program` to the relay program (docs/reach-your-corp.md). */
export const RelayEnvSchema = z
  .object({
    ...WecomAppShape,
    WECOM_RELAY_PROGRAM_ID: required(
      'the relay program id in the zone (admin console: the program linked to your app)',
    ),
    /** Default `invoke_create_program_task`. */
    WECOM_RELAY_CREATE_ABILITY_ID: optionalName,
    /** Default `invoke_get_program_task_result`. */
    WECOM_RELAY_RESULT_ABILITY_ID: optionalName,
  })
  .superRefine(checkSecretLocation, { when: () => true })
  .superRefine(
    (env, context) => {
      // The relay tells the two interfaces apart by ability: one ability for both would send every
      // result poll to create_program_task (a new task each time).
      const create = env.WECOM_RELAY_CREATE_ABILITY_ID ?? 'invoke_create_program_task';
      const result = env.WECOM_RELAY_RESULT_ABILITY_ID ?? 'invoke_get_program_task_result';
      if (create === result) {
        context.addIssue({
          code: 'custom',
          path: ['WECOM_RELAY_RESULT_ABILITY_ID'],
          message:
            'must differ from WECOM_RELAY_CREATE_ABILITY_ID: the relay tells create_program_task and get_program_task_result apart by ability',
        });
      }
    },
    { when: () => true },
  );
export type RelayEnv = z.infer<typeof RelayEnvSchema>;

/** The settings of either WeCom transport: where the secret lives, WeCom's API, the timeouts. */
export type WecomAppEnv = WecomEnv | RelayEnv;

/**
 * Many corps (docs/many-corps.md): every corp's credentials in a directory instead of one
 * WECOM_CORP_ID. On AWS, SSM parameters under WECOM_CORPS_PARAM_PREFIX (`/wecom-zone-tasks/<stage>`:
 * `corps/<corpid>`, `suites/<suite_id>/secret|ticket`); with `npm start`, a credentials file
 * (WECOM_CORPS_FILE). The relay program (or zone program) is the stage's default, which a corp's
 * entry may override.
 */
const CorpsShape = {
  WECOM_CORPS_PARAM_PREFIX: unsetIfBlank(
    z
      .string()
      .trim()
      .regex(/^\/[A-Za-z0-9_.\-/]+$/, 'must be an SSM path such as /wecom-zone-tasks/<stage>')
      .optional(),
  ),
  /** `npm start` only: the credentials file (examples/corps.json). */
  WECOM_CORPS_FILE: optionalName,
  /** How long a corp's entry read from SSM is reused (a cancellation reaches warm functions within it). */
  WECOM_CORP_ENTRY_MAX_AGE_SECONDS: unsetIfBlank(z.coerce.number().int().min(0).max(3600).default(60)),
  WECOM_API_BASE_URL: WecomAppShape.WECOM_API_BASE_URL,
  WECOM_TOKEN_REFRESH_EARLY_SECONDS: WecomAppShape.WECOM_TOKEN_REFRESH_EARLY_SECONDS,
  ZONE_TIMEOUT_MS: WecomAppShape.ZONE_TIMEOUT_MS,
  /** Guarded against: the one-corp settings beside a directory would be silently ignored. */
  WECOM_CORP_ID: optionalName,
  WECOM_CORP_SECRET_PARAM: optionalName,
  WECOM_CORP_SECRET_ARN: optionalName,
  WECOM_CORP_SECRET_FILE: optionalName,
  WECOM_CORP_SECRET: optionalName,
};

function checkCorpsSource(
  env: { WECOM_CORPS_PARAM_PREFIX?: string; WECOM_CORPS_FILE?: string } & SecretLocations & { WECOM_CORP_ID?: string },
  context: z.RefinementCtx,
): void {
  if ((env.WECOM_CORPS_PARAM_PREFIX === undefined) === (env.WECOM_CORPS_FILE === undefined)) {
    context.addIssue({
      code: 'custom',
      path: ['WECOM_CORPS_PARAM_PREFIX'],
      message: 'set exactly one of WECOM_CORPS_PARAM_PREFIX (SSM) and WECOM_CORPS_FILE (npm start)',
    });
  }
  for (const name of [
    'WECOM_CORP_ID',
    'WECOM_CORP_SECRET_PARAM',
    'WECOM_CORP_SECRET_ARN',
    'WECOM_CORP_SECRET_FILE',
    'WECOM_CORP_SECRET',
  ] as const) {
    if (env[name] !== undefined) {
      context.addIssue({
        code: 'custom',
        path: [name],
        message:
          'one corp or many: with a corp directory (WECOM_CORPS_*) every corp has an entry of its own; unset this',
      });
    }
  }
}

/** `ZONE_TRANSPORT=relay` with a corp directory. */
export const CorpsRelayEnvSchema = z
  .object({
    ...CorpsShape,
    WECOM_RELAY_PROGRAM_ID: required("the relay program id in the zone (a corp's entry may override it)"),
    WECOM_RELAY_CREATE_ABILITY_ID: optionalName,
    WECOM_RELAY_RESULT_ABILITY_ID: optionalName,
  })
  .superRefine(checkCorpsSource, { when: () => true });

/** `ZONE_TRANSPORT=wecom` with a corp directory. */
export const CorpsWecomEnvSchema = z
  .object({
    ...CorpsShape,
    WECOM_ZONE_PROGRAM_ID: required("the zone program that receives request_data (a corp's entry may override it)"),
    WECOM_ZONE_ABILITY_ID: required("the zone program's ability"),
  })
  .superRefine(checkCorpsSource, { when: () => true });
export type CorpsEnv = z.infer<typeof CorpsRelayEnvSchema> | z.infer<typeof CorpsWecomEnvSchema>;

/** Whether the environment configures a corp directory (many corps) rather than one corp. */
export function usesCorpDirectory(env: Record<string, string | undefined>): boolean {
  return Boolean(env.WECOM_CORPS_PARAM_PREFIX?.trim() || env.WECOM_CORPS_FILE?.trim());
}
