/**
 * The zone transport from the environment: the relay (`ZONE_TRANSPORT=relay`, the default), the HTTP
 * bridge (`bridge`, ZONE_BRIDGE_URL), or the async-program mapping (`wecom`). The WeCom transports and
 * their secret readers (Powertools parameters, the SSM and Secrets Manager clients) load on first
 * use, so functions on the bridge never load them; the configuration is still checked at start-up,
 * and before packaging by the same {@link checkZoneTransportEnv}.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { ZoneTransportEnvSchema, type ZoneTransportName } from '../config.js';
import type { Log } from '../log.js';
import { ConfigurationError, parseEnv } from '../shared/env.js';
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
  /** The SSM parameter holding the bridge token (AWS). */
  bridgeTokenParam?: string;
}

/**
 * Request bodies to the zone carry secret keys: on AWS every zone URL is https. Plain http is allowed
 * to a loopback address only, where nothing leaves the machine (tests, a bridge beside `npm start`).
 */
function requireHttps(variable: string, url: string | undefined): void {
  if (url === undefined) return;
  const parsed = new URL(url);
  if (parsed.protocol === 'https:') return;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
  if (parsed.protocol === 'http:' && loopback) return;
  throw new ConfigurationError(
    `invalid configuration: ${variable}: must be an https URL on AWS (requests carry secret keys)`,
  );
}

/**
 * Validate the zone transport's settings as the functions read them: `ZONE_TRANSPORT` and every
 * variable the chosen transport needs.
 *
 * @param where `aws` (the functions) refuses local-only settings (WECOM_CORP_SECRET_FILE, a plain
 *   ZONE_BRIDGE_TOKEN) and zone URLs that are not https (ZONE_BRIDGE_URL, WECOM_API_BASE_URL)
 * @throws {ConfigurationError} naming each variable that is missing or invalid
 */
export function checkZoneTransportEnv(env: Env, where: 'aws' | 'local' = 'aws'): ZoneTransportSettings {
  const config = parseEnv(ZoneTransportEnvSchema, env);
  const settings: ZoneTransportSettings = {
    transport: config.ZONE_TRANSPORT,
    timeoutMs: config.ZONE_TIMEOUT_MS,
    bridgeUrl: config.ZONE_BRIDGE_URL,
    bridgeToken: config.ZONE_BRIDGE_TOKEN,
    bridgeTokenParam: config.ZONE_BRIDGE_TOKEN_PARAM,
  };
  if (config.ZONE_TRANSPORT === 'bridge') {
    if (!config.ZONE_BRIDGE_URL)
      throw new ConfigurationError('invalid configuration: ZONE_BRIDGE_URL: required when ZONE_TRANSPORT=bridge');
    if (where === 'aws') {
      requireHttps('ZONE_BRIDGE_URL', config.ZONE_BRIDGE_URL);
      if (config.ZONE_BRIDGE_TOKEN !== undefined) {
        throw new ConfigurationError(
          'invalid configuration: ZONE_BRIDGE_TOKEN: npm start only; on AWS store the token in SSM and name the parameter in ZONE_BRIDGE_TOKEN_PARAM',
        );
      }
    }
    return settings;
  }
  const wecom = parseEnv(config.ZONE_TRANSPORT === 'relay' ? RelayEnvSchema : WecomEnvSchema, env);
  if (where === 'aws' && wecom.WECOM_CORP_SECRET_FILE !== undefined) {
    throw new ConfigurationError(
      'invalid configuration: WECOM_CORP_SECRET_FILE: npm start only; on AWS use WECOM_CORP_SECRET_PARAM (SSM) or WECOM_CORP_SECRET_ARN (Secrets Manager)',
    );
  }
  if (where === 'aws') requireHttps('WECOM_API_BASE_URL', wecom.WECOM_API_BASE_URL);
  return settings;
}

/**
 * The bridge token from its SSM SecureString, read on the first call and cached by Powertools
 * (300 s, so a rotated token is picked up without a deploy). Loaded on first use: a function on
 * another transport never loads Powertools parameters or the SSM client.
 */
function ssmBridgeToken(name: string, clients: ZoneClients): () => Promise<string> {
  let source: Promise<{ get(): Promise<string> }> | undefined;
  return async () => {
    source ??= import('../zone/wecom/secrets.js').then(({ ssmSecret }) => ssmSecret({ name, client: clients.ssm }));
    return (await source).get();
  };
}

/** The transport the settings name; WeCom transports load on their first call. */
export function zoneTransport(
  env: Env,
  logger: Log,
  clients: ZoneClients = {},
  where: 'aws' | 'local' = 'aws',
): ZoneTransport {
  const settings = checkZoneTransportEnv(env, where);
  if (settings.transport === 'bridge') {
    const bearerToken = settings.bridgeTokenParam
      ? ssmBridgeToken(settings.bridgeTokenParam, clients)
      : settings.bridgeToken;
    return new HttpZoneTransport({ baseUrl: settings.bridgeUrl ?? '', timeoutMs: settings.timeoutMs, bearerToken });
  }
  let transport: Promise<ZoneTransport> | undefined;
  const load = () => {
    transport ??= import('../zone/wecom/config.js').then(({ relayTransportFromEnv, wecomTransportFromEnv }) => {
      const dependencies = { ssm: clients.ssm, secretsManager: clients.secretsManager, logger };
      return settings.transport === 'relay'
        ? relayTransportFromEnv(env, dependencies)
        : wecomTransportFromEnv(env, dependencies);
    });
    return transport;
  };
  return { invoke: async (apiName, requestJson) => (await load()).invoke(apiName, requestJson) };
}
