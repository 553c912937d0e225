/**
 * Building the WeCom HTTPS transport from the WECOM_* environment (schema in `env.ts`).
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { parseEnv } from '../../config.js';
import type { Log } from '../../log.js';
import { AccessTokenCache } from './accessToken.js';
import { type WecomEnv, WecomEnvSchema } from './env.js';
import { WecomHttpsTransport } from './httpsTransport.js';
import { type SecretSource, secretsManagerSecret, ssmSecret } from './secrets.js';

export { WecomEnvSchema, type WecomEnv } from './env.js';

export interface WecomTransportDependencies {
  ssm?: SSMClient;
  secretsManager?: SecretsManagerClient;
  tokenCache?: AccessTokenCache;
  logger?: Log;
}

/** Where the corp secret lives, per the environment. */
export function corpSecretSource(env: WecomEnv, clients: Pick<WecomTransportDependencies, 'ssm' | 'secretsManager'> = {}): SecretSource {
  const common = { maxAgeSeconds: env.WECOM_SECRET_MAX_AGE_SECONDS, jsonKey: env.WECOM_CORP_SECRET_JSON_KEY };
  if (env.WECOM_CORP_SECRET_PARAM) return ssmSecret({ ...common, name: env.WECOM_CORP_SECRET_PARAM, client: clients.ssm });
  if (env.WECOM_CORP_SECRET_ARN) return secretsManagerSecret({ ...common, secretId: env.WECOM_CORP_SECRET_ARN, client: clients.secretsManager });
  throw new Error('unreachable: WecomEnvSchema requires a secret location');
}

/**
 * @example
 * const zone = zoneClient(wecomTransportFromEnv(process.env, { logger }));
 */
export function wecomTransportFromEnv(env: Record<string, string | undefined>, dependencies: WecomTransportDependencies = {}): WecomHttpsTransport {
  const config = parseEnv(WecomEnvSchema, env);
  return new WecomHttpsTransport({
    corpId: config.WECOM_CORP_ID,
    corpSecret: corpSecretSource(config, dependencies),
    zoneProgram: { programId: config.WECOM_ZONE_PROGRAM_ID, abilityId: config.WECOM_ZONE_ABILITY_ID },
    baseUrl: config.WECOM_API_BASE_URL,
    timeoutMs: config.ZONE_TIMEOUT_MS,
    tokenCache: dependencies.tokenCache ?? new AccessTokenCache({ refreshEarlySeconds: config.WECOM_TOKEN_REFRESH_EARLY_SECONDS }),
    logger: dependencies.logger,
  });
}
