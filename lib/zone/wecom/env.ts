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
