/**
 * The zone transport on AWS: the HTTP bridge (ZONE_BRIDGE_URL), or WeCom's public HTTPS API
 * (ZONE_TRANSPORT=wecom). The WeCom transport and its secret readers (Powertools parameters, the SSM
 * and Secrets Manager clients) load on first use, so functions on the bridge never load them; its
 * configuration is still checked at start-up.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { ConfigurationError, parseEnv, ZoneTransportEnvSchema } from '../config.js';
import type { Log } from '../log.js';
import { HttpZoneTransport } from '../zone/httpTransport.js';
import type { ZoneTransport } from '../zone/port.js';
import { WecomEnvSchema } from '../zone/wecom/env.js';

export interface ZoneClients {
  ssm?: SSMClient;
  secretsManager?: SecretsManagerClient;
}

export function zoneTransport(env: Record<string, string | undefined>, logger: Log, clients: ZoneClients = {}): ZoneTransport {
  const config = parseEnv(ZoneTransportEnvSchema, env);
  if (config.ZONE_TRANSPORT === 'wecom') {
    parseEnv(WecomEnvSchema, env);
    let transport: Promise<ZoneTransport> | undefined;
    const load = () => {
      transport ??= import('../zone/wecom/config.js').then(({ wecomTransportFromEnv }) =>
        wecomTransportFromEnv(env, { ssm: clients.ssm, secretsManager: clients.secretsManager, logger }),
      );
      return transport;
    };
    return { invoke: async (apiName, requestJson) => (await load()).invoke(apiName, requestJson) };
  }
  if (!config.ZONE_BRIDGE_URL) {
    throw new ConfigurationError('invalid configuration: ZONE_BRIDGE_URL: required when ZONE_TRANSPORT=bridge');
  }
  return new HttpZoneTransport({ baseUrl: config.ZONE_BRIDGE_URL, timeoutMs: config.ZONE_TIMEOUT_MS, bearerToken: config.ZONE_BRIDGE_TOKEN });
}
