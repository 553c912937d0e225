/**
 * The zone transport from the environment: the relay (`ZONE_TRANSPORT=relay`, the default), the HTTP
 * bridge (`bridge`, ZONE_BRIDGE_URL), or the async-program mapping (`wecom`). The WeCom transports and
 * their secret readers (Powertools parameters, the SSM and Secrets Manager clients) load on first
 * use, so functions on the bridge never load them; the configuration is still checked at start-up,
 * and before packaging by the same {@link checkZoneTransportEnv}.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { ConfigurationError, parseEnv, type ZoneTransportName, ZoneTransportEnvSchema } from '../config.js';
import type { Log } from '../log.js';
import { HttpZoneTransport } from '../zone/httpTransport.js';
import type { ZoneTransport } from '../zone/port.js';
import { RelayEnvSchema, WecomEnvSchema } from '../zone/wecom/env.js';

export interface ZoneClients {
  ssm?: SSMClient;
  secretsManager?: SecretsManagerClient;
}

type Env = Record<string, string | undefined>;

export interface ZoneTransportSettings {
  transport: ZoneTransportName;
  timeoutMs: number;
  bridgeUrl?: string;
  bridgeToken?: string;
}

/**
 * Validate the zone transport's settings as the functions read them: `ZONE_TRANSPORT` and every
 * variable the chosen transport needs.
 *
 * @param where `aws` (the functions) refuses local-only settings such as WECOM_CORP_SECRET_FILE
 * @throws {ConfigurationError} naming each variable that is missing or invalid
 */
export function checkZoneTransportEnv(env: Env, where: 'aws' | 'local' = 'aws'): ZoneTransportSettings {
  const config = parseEnv(ZoneTransportEnvSchema, env);
  const settings: ZoneTransportSettings = {
    transport: config.ZONE_TRANSPORT,
    timeoutMs: config.ZONE_TIMEOUT_MS,
    bridgeUrl: config.ZONE_BRIDGE_URL,
    bridgeToken: config.ZONE_BRIDGE_TOKEN,
  };
  if (config.ZONE_TRANSPORT === 'bridge') {
    if (!config.ZONE_BRIDGE_URL) throw new ConfigurationError('invalid configuration: ZONE_BRIDGE_URL: required when ZONE_TRANSPORT=bridge');
    return settings;
  }
  const wecom = parseEnv(config.ZONE_TRANSPORT === 'relay' ? RelayEnvSchema : WecomEnvSchema, env);
  if (where === 'aws' && wecom.WECOM_CORP_SECRET_FILE !== undefined) {
    throw new ConfigurationError(
      'invalid configuration: WECOM_CORP_SECRET_FILE: npm start only; on AWS use WECOM_CORP_SECRET_PARAM (SSM) or WECOM_CORP_SECRET_ARN (Secrets Manager)',
    );
  }
  return settings;
}

/** The transport the settings name; WeCom transports load on their first call. */
export function zoneTransport(env: Env, logger: Log, clients: ZoneClients = {}, where: 'aws' | 'local' = 'aws'): ZoneTransport {
  const settings = checkZoneTransportEnv(env, where);
  if (settings.transport === 'bridge') {
    return new HttpZoneTransport({ baseUrl: settings.bridgeUrl ?? '', timeoutMs: settings.timeoutMs, bearerToken: settings.bridgeToken });
  }
  let transport: Promise<ZoneTransport> | undefined;
  const load = () => {
    transport ??= import('../zone/wecom/config.js').then(({ relayTransportFromEnv, wecomTransportFromEnv }) => {
      const dependencies = { ssm: clients.ssm, secretsManager: clients.secretsManager, logger };
      return settings.transport === 'relay' ? relayTransportFromEnv(env, dependencies) : wecomTransportFromEnv(env, dependencies);
    });
    return transport;
  };
  return { invoke: async (apiName, requestJson) => (await load()).invoke(apiName, requestJson) };
}
