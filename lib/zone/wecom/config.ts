/**
 * Building the WeCom transports from the WECOM_* environment (schemas in `env.ts`).
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Log } from '../../log.js';
import { ZONE_API } from '../../protocol/zone.js';
import { parseEnv } from '../../shared/env.js';
import { AccessTokenCache } from './accessToken.js';
import type { WecomApiClientOptions } from './apiClient.js';
import { RelayEnvSchema, type WecomAppEnv, WecomEnvSchema } from './env.js';
import { WecomHttpsTransport } from './httpsTransport.js';
import { RelayTransport } from './relayTransport.js';
import { fileSecret, type SecretSource, secretsManagerSecret, ssmSecret } from './secrets.js';

export { RelayEnvSchema, type WecomEnv, WecomEnvSchema } from './env.js';

export interface WecomTransportDependencies {
  ssm?: SSMClient;
  secretsManager?: SecretsManagerClient;
  tokenCache?: AccessTokenCache;
  logger?: Log;
  /** Called before every gettoken: counts it against the corp's call budget (may refuse it). */
  beforeTokenRequest?: (apiName: string) => Promise<void>;
}

/** Where the corp secret lives, per the environment. */
export function corpSecretSource(
  env: WecomAppEnv,
  clients: Pick<WecomTransportDependencies, 'ssm' | 'secretsManager'> = {},
): SecretSource {
  const common = { maxAgeSeconds: env.WECOM_SECRET_MAX_AGE_SECONDS, jsonKey: env.WECOM_CORP_SECRET_JSON_KEY };
  if (env.WECOM_CORP_SECRET_PARAM)
    return ssmSecret({ ...common, name: env.WECOM_CORP_SECRET_PARAM, client: clients.ssm });
  if (env.WECOM_CORP_SECRET_ARN)
    return secretsManagerSecret({ ...common, secretId: env.WECOM_CORP_SECRET_ARN, client: clients.secretsManager });
  if (env.WECOM_CORP_SECRET_FILE)
    return fileSecret({ path: env.WECOM_CORP_SECRET_FILE, jsonKey: env.WECOM_CORP_SECRET_JSON_KEY });
  throw new Error('unreachable: the WeCom env schemas require a secret location');
}

function apiClientOptions(config: WecomAppEnv, dependencies: WecomTransportDependencies): WecomApiClientOptions {
  return {
    corpId: config.WECOM_CORP_ID,
    corpSecret: corpSecretSource(config, dependencies),
    baseUrl: config.WECOM_API_BASE_URL,
    timeoutMs: config.ZONE_TIMEOUT_MS,
    tokenCache:
      dependencies.tokenCache ??
      new AccessTokenCache({ refreshEarlySeconds: config.WECOM_TOKEN_REFRESH_EARLY_SECONDS }),
    logger: dependencies.logger,
    beforeTokenRequest: dependencies.beforeTokenRequest,
  };
}

/**
 * `ZONE_TRANSPORT=wecom`: the async-program mapping.
 *
 * @example
 * const zone = zoneClient(wecomTransportFromEnv(process.env, { logger }));
 */
export function wecomTransportFromEnv(
  env: Record<string, string | undefined>,
  dependencies: WecomTransportDependencies = {},
): WecomHttpsTransport {
  const config = parseEnv(WecomEnvSchema, env);
  return new WecomHttpsTransport({
    ...apiClientOptions(config, dependencies),
    zoneProgram: { programId: config.WECOM_ZONE_PROGRAM_ID, abilityId: config.WECOM_ZONE_ABILITY_ID },
  });
}

/**
 * `ZONE_TRANSPORT=relay`: `sync_call_program` to the relay program.
 *
 * @example
 * const zone = zoneClient(relayTransportFromEnv(process.env, { logger }));
 */
export function relayTransportFromEnv(
  env: Record<string, string | undefined>,
  dependencies: WecomTransportDependencies = {},
): RelayTransport {
  const config = parseEnv(RelayEnvSchema, env);
  return new RelayTransport({
    ...apiClientOptions(config, dependencies),
    programId: config.WECOM_RELAY_PROGRAM_ID,
    abilities: {
      ...(config.WECOM_RELAY_CREATE_ABILITY_ID
        ? { [ZONE_API.createProgramTask]: config.WECOM_RELAY_CREATE_ABILITY_ID }
        : {}),
      ...(config.WECOM_RELAY_RESULT_ABILITY_ID
        ? { [ZONE_API.getProgramTaskResult]: config.WECOM_RELAY_RESULT_ABILITY_ID }
        : {}),
    },
  });
}
