/**
 * The zone transport from the environment: the relay (`ZONE_TRANSPORT=relay`, the default), the HTTP
 * bridge (`bridge`, ZONE_BRIDGE_URL), or the async-program mapping (`wecom`). The WeCom transports and
 * their secret readers (Powertools parameters, the SSM and Secrets Manager clients) load on first
 * use, so functions on the bridge never load them; the configuration is still checked at start-up,
 * and before packaging by the same {@link checkZoneTransportEnv}.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { CallBudget } from '../budget/port.js';
import { DEFAULT_CORP_ID } from '../budget/port.js';
import { ZoneTransportEnvSchema, type ZoneTransportName } from '../config.js';
import type { CorpDirectory } from '../corps/directory.js';
import type { CorpCredentialStore, CorpGate } from '../corps/port.js';
import type { Log } from '../log.js';
import { ConfigurationError, parseEnv } from '../shared/env.js';
import { HttpZoneTransport } from '../zone/httpTransport.js';
import type { ZoneTransport } from '../zone/port.js';
import {
  type CorpsEnv,
  CorpsRelayEnvSchema,
  CorpsWecomEnvSchema,
  RelayEnvSchema,
  usesCorpDirectory,
  WecomEnvSchema,
} from '../zone/wecom/env.js';

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
  /** Many corps: the corp directory's settings (WECOM_CORPS_*); one corp otherwise. */
  corps?: CorpsEnv;
  /** One corp (WECOM_CORP_ID): the corp id. */
  corpId?: string;
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
    if (usesCorpDirectory(env))
      throw new ConfigurationError(
        'invalid configuration: WECOM_CORPS_PARAM_PREFIX / WECOM_CORPS_FILE: only read with ZONE_TRANSPORT=relay or wecom (it is bridge)',
      );
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
  if (usesCorpDirectory(env)) {
    const corps = parseEnv(config.ZONE_TRANSPORT === 'relay' ? CorpsRelayEnvSchema : CorpsWecomEnvSchema, env);
    if (where === 'aws' && corps.WECOM_CORPS_FILE !== undefined) {
      throw new ConfigurationError(
        'invalid configuration: WECOM_CORPS_FILE: npm start only; on AWS keep the corps in SSM (WECOM_CORPS_PARAM_PREFIX)',
      );
    }
    if (where === 'aws') requireHttps('WECOM_API_BASE_URL', corps.WECOM_API_BASE_URL);
    return { ...settings, corps };
  }
  const wecom = parseEnv(config.ZONE_TRANSPORT === 'relay' ? RelayEnvSchema : WecomEnvSchema, env);
  if (where === 'aws' && wecom.WECOM_CORP_SECRET_FILE !== undefined) {
    throw new ConfigurationError(
      'invalid configuration: WECOM_CORP_SECRET_FILE: npm start only; on AWS use WECOM_CORP_SECRET_PARAM (SSM) or WECOM_CORP_SECRET_ARN (Secrets Manager)',
    );
  }
  if (where === 'aws') requireHttps('WECOM_API_BASE_URL', wecom.WECOM_API_BASE_URL);
  return { ...settings, corpId: wecom.WECOM_CORP_ID };
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
  return zoneAccess(env, logger, clients, where).transport;
}

/** How the zone is reached, and which corps a request may name. */
export interface ZoneAccess {
  transport: ZoneTransport;
  /** Admits a request's corp_id (WeCom transports); none: any corp id is a budget key only. */
  corps?: CorpGate;
  /** Many corps: the directory (loaded on first use), for the callback route. */
  directory?: () => Promise<CorpDirectory>;
}

export interface ZoneAccessParts extends ZoneClients {
  /** Token requests of many corps take calls from it. */
  budget?: CallBudget;
  /**
   * `npm start`: opens the credentials file (`WECOM_CORPS_FILE`) as a corp store
   * (`openLocalCorpStore` of lib/corps/localStore.ts); passed in so the functions' bundles never
   * carry the file adapter.
   */
  localCorpStore?: (path: string) => CorpCredentialStore;
}

/**
 * The zone transport and the corp gate the settings name. With a corp directory (WECOM_CORPS_*),
 * one transport serves every corp with its own token (lib/corps/directory.ts); with WECOM_CORP_ID,
 * one corp; the emulator and the bridge admit any corp id.
 */
export function zoneAccess(
  env: Env,
  logger: Log,
  parts: ZoneAccessParts = {},
  where: 'aws' | 'local' = 'aws',
): ZoneAccess {
  const settings = checkZoneTransportEnv(env, where);
  const corps = settings.corps;
  if (corps) {
    let directory: Promise<CorpDirectory> | undefined;
    const load = () => {
      directory ??= loadDirectory(settings.transport === 'wecom' ? 'wecom' : 'relay', corps, logger, parts);
      return directory;
    };
    return {
      transport: {
        invoke: async (apiName, requestJson, context) => (await load()).invoke(apiName, requestJson, context),
      },
      corps: { admit: async (corpId) => (await load()).admit(corpId) },
      directory: load,
    };
  }
  const defaultCorpId = env.DEFAULT_CORP_ID?.trim() || DEFAULT_CORP_ID;
  const transport = legacyTransport(env, logger, parts, settings, defaultCorpId);
  if (settings.corpId === undefined) return { transport };
  const corpId = settings.corpId;
  return {
    transport,
    corps: {
      admit: async (requested) =>
        (await import('../corps/directory.js')).admitSingleCorp(corpId, defaultCorpId, requested),
    },
  };
}

async function loadDirectory(
  transport: 'relay' | 'wecom',
  corps: CorpsEnv,
  logger: Log,
  parts: ZoneAccessParts,
): Promise<CorpDirectory> {
  const [{ CorpDirectory }, { AccessTokenCache }] = await Promise.all([
    import('../corps/directory.js'),
    import('../zone/wecom/accessToken.js'),
  ]);
  let store: CorpCredentialStore;
  if (corps.WECOM_CORPS_PARAM_PREFIX !== undefined) {
    const [{ SsmCorpStore }, { SSMClient }] = await Promise.all([
      import('../corps/ssmStore.js'),
      import('@aws-sdk/client-ssm'),
    ]);
    store = new SsmCorpStore({
      client: parts.ssm ?? new SSMClient({}),
      prefix: corps.WECOM_CORPS_PARAM_PREFIX,
      maxAgeSeconds: corps.WECOM_CORP_ENTRY_MAX_AGE_SECONDS,
    });
  } else {
    if (!parts.localCorpStore) throw new ConfigurationError('invalid configuration: WECOM_CORPS_FILE: npm start only');
    store = parts.localCorpStore(corps.WECOM_CORPS_FILE ?? '');
  }
  const relay = 'WECOM_RELAY_PROGRAM_ID' in corps ? corps : undefined;
  const zone = 'WECOM_ZONE_PROGRAM_ID' in corps ? corps : undefined;
  return new CorpDirectory({
    store,
    transport,
    defaults: {
      relayProgramId: relay?.WECOM_RELAY_PROGRAM_ID,
      relayCreateAbilityId: relay?.WECOM_RELAY_CREATE_ABILITY_ID,
      relayResultAbilityId: relay?.WECOM_RELAY_RESULT_ABILITY_ID,
      zoneProgramId: zone?.WECOM_ZONE_PROGRAM_ID,
      zoneAbilityId: zone?.WECOM_ZONE_ABILITY_ID,
    },
    baseUrl: corps.WECOM_API_BASE_URL,
    timeoutMs: corps.ZONE_TIMEOUT_MS,
    cache: new AccessTokenCache({ refreshEarlySeconds: corps.WECOM_TOKEN_REFRESH_EARLY_SECONDS }),
    budget: parts.budget,
    logger,
  });
}

function legacyTransport(
  env: Env,
  logger: Log,
  clients: ZoneAccessParts,
  settings: ZoneTransportSettings,
  budgetKey: string,
): ZoneTransport {
  if (settings.transport === 'bridge') {
    const bearerToken = settings.bridgeTokenParam
      ? ssmBridgeToken(settings.bridgeTokenParam, clients)
      : settings.bridgeToken;
    return new HttpZoneTransport({ baseUrl: settings.bridgeUrl ?? '', timeoutMs: settings.timeoutMs, bearerToken });
  }
  let transport: Promise<ZoneTransport> | undefined;
  const load = () => {
    transport ??= import('../zone/wecom/config.js').then(({ relayTransportFromEnv, wecomTransportFromEnv }) => {
      const budget = clients.budget;
      const dependencies = {
        ssm: clients.ssm,
        secretsManager: clients.secretsManager,
        logger,
        // One corp: its gettoken counts against the budget its tasks use (DEFAULT_CORP_ID).
        beforeTokenRequest: budget
          ? async (apiName: string) => {
              const decision = await budget.tryAcquire(budgetKey, Date.now());
              if (!decision.granted) {
                const { TokenBudgetSpentError } = await import('../corps/tokens.js');
                throw new TokenBudgetSpentError(`${apiName}: gettoken`, budgetKey);
              }
            }
          : undefined,
      };
      return settings.transport === 'relay'
        ? relayTransportFromEnv(env, dependencies)
        : wecomTransportFromEnv(env, dependencies);
    });
    return transport;
  };
  return { invoke: async (apiName, requestJson) => (await load()).invoke(apiName, requestJson) };
}
