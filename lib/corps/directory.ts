/**
 * One deployment, many corps: the zone transport that reaches each corp's zone with that corp's own
 * token, and the gate that admits a request's `corp_id` (docs/many-corps.md).
 *
 * Per call, the corp's entry is read from the credential store (cached by the store) and the corp's
 * transport is built once per kind and settings: the relay (`sync_call_program`, doc 53295) or the
 * async-program mapping, each over a {@link WecomApiClient} whose token comes from
 * - `gettoken` with the corp's secret (self_built; custom_app, whose secret is its permanent code,
 *   doc 42543), counted against the corp's budget before each request;
 * - `get_corp_token` via the suite (third_party, {@link SuiteTokens}).
 * All corps share one {@link AccessTokenCache}: one token per corp, refreshed early, single-flight.
 */
import type { CallBudget } from '../budget/port.js';
import type { Log } from '../log.js';
import { ZONE_API, type ZoneApiName } from '../protocol/zone.js';
import type { ZoneInvokeContext, ZoneTransport } from '../zone/port.js';
import type { AccessTokenCache } from '../zone/wecom/accessToken.js';
import type { WecomApiClientOptions } from '../zone/wecom/apiClient.js';
import { WecomHttpsTransport } from '../zone/wecom/httpsTransport.js';
import { RelayTransport } from '../zone/wecom/relayTransport.js';
import type { SecretSource } from '../zone/wecom/secrets.js';
import {
  type ActiveCorpEntry,
  type CorpCredentialStore,
  type CorpGate,
  CorpNotServedError,
  CredentialStoreError,
  corpDeauthorised,
  corpRequired,
  unknownCorp,
} from './port.js';
import { SuiteTokens } from './tokens.js';

/** The stage's defaults (`WECOM_RELAY_*`, `WECOM_ZONE_*`), which a corp's entry may override. */
export interface ProgramDefaults {
  relayProgramId?: string;
  relayCreateAbilityId?: string;
  relayResultAbilityId?: string;
  zoneProgramId?: string;
  zoneAbilityId?: string;
}

export interface CorpDirectoryOptions {
  store: CorpCredentialStore;
  /** How every corp's zone is reached: the relay program, or the async-program mapping. */
  transport: 'relay' | 'wecom';
  defaults: ProgramDefaults;
  baseUrl: string;
  timeoutMs: number;
  cache: AccessTokenCache;
  /** Token requests take a call from the corp's (or the suite's) budget. */
  budget?: CallBudget;
  logger: Log;
  now?: () => number;
}

export class CorpDirectory implements ZoneTransport, CorpGate {
  readonly suites: SuiteTokens;
  readonly #options: CorpDirectoryOptions;
  readonly #transports = new Map<string, { fingerprint: string; transport: ZoneTransport }>();

  constructor(options: CorpDirectoryOptions) {
    this.#options = options;
    this.suites = new SuiteTokens({
      store: options.store,
      cache: options.cache,
      baseUrl: options.baseUrl,
      timeoutMs: options.timeoutMs,
      budget: options.budget,
      logger: options.logger,
      now: options.now,
    });
  }

  get store(): CorpCredentialStore {
    return this.#options.store;
  }

  /**
   * The corp a request is for: the one named, which must be served and authorised; or, when none is
   * named, the only corp in the directory.
   *
   * @throws {CorpNotServedError} `corp_required`, `unknown_corp`, `corp_deauthorised`
   */
  async admit(corpId: string | undefined): Promise<string> {
    if (corpId === undefined) {
      const ids = await this.#options.store.listCorpIds();
      if (ids.length !== 1 || ids[0] === undefined) throw corpRequired();
      corpId = ids[0];
    }
    await this.#activeEntry(corpId);
    return corpId;
  }

  /**
   * The zone port for the corp in `context`.
   *
   * @throws {CorpNotServedError} the corp is unknown or has cancelled its authorisation
   * @throws {ZoneTransportError} as the corp's transport
   */
  async invoke(apiName: string, requestJson: string, context?: ZoneInvokeContext): Promise<string> {
    const corpId = context?.corpId;
    if (corpId === undefined) throw corpRequired();
    const entry = await this.#activeEntry(corpId);
    return this.#transport(corpId, entry).invoke(apiName, requestJson);
  }

  async #activeEntry(corpId: string): Promise<ActiveCorpEntry> {
    let entry: Awaited<ReturnType<CorpCredentialStore['getCorp']>>;
    try {
      entry = await this.#options.store.getCorp(corpId);
    } catch (error) {
      if (error instanceof CredentialStoreError) throw error;
      throw new CredentialStoreError(`the entry of corp ${corpId} could not be read`);
    }
    if (entry === undefined) throw unknownCorp(corpId);
    if (entry.status === 'deauthorised') throw corpDeauthorised(corpId);
    return entry;
  }

  #transport(corpId: string, entry: ActiveCorpEntry): ZoneTransport {
    const defaults = this.#options.defaults;
    const settings = {
      kind: entry.kind,
      suiteId: entry.kind === 'self_built' ? undefined : entry.suite_id,
      relayProgramId: entry.relay_program_id ?? defaults.relayProgramId,
      create: entry.relay_create_ability_id ?? defaults.relayCreateAbilityId,
      result: entry.relay_result_ability_id ?? defaults.relayResultAbilityId,
      zoneProgramId: entry.zone_program_id ?? defaults.zoneProgramId,
      zoneAbilityId: entry.zone_ability_id ?? defaults.zoneAbilityId,
    };
    // Nothing secret in the fingerprint: a rotated secret is read through the client, not rebuilt.
    const fingerprint = JSON.stringify(settings);
    const cached = this.#transports.get(corpId);
    if (cached?.fingerprint === fingerprint) return cached.transport;
    const client: WecomApiClientOptions = {
      corpId,
      baseUrl: this.#options.baseUrl,
      timeoutMs: this.#options.timeoutMs,
      tokenCache: this.#options.cache,
      logger: this.#options.logger,
      ...(entry.kind === 'third_party'
        ? { tokenSource: this.suites.corpTokenSource(corpId, entry.suite_id) }
        : {
            corpSecret: this.#secretOf(corpId),
            beforeTokenRequest: (apiName: string) => this.suites.takeCall(`${apiName}: gettoken`, corpId),
          }),
    };
    let transport: ZoneTransport;
    if (this.#options.transport === 'relay') {
      const abilities: Partial<Record<ZoneApiName, string>> = {};
      if (settings.create) abilities[ZONE_API.createProgramTask] = settings.create;
      if (settings.result) abilities[ZONE_API.getProgramTaskResult] = settings.result;
      transport = new RelayTransport({ ...client, programId: settings.relayProgramId ?? '', abilities });
    } else {
      transport = new WecomHttpsTransport({
        ...client,
        zoneProgram: { programId: settings.zoneProgramId ?? '', abilityId: settings.zoneAbilityId ?? '' },
      });
    }
    this.#transports.set(corpId, { fingerprint, transport });
    return transport;
  }

  /** The corp's secret (self_built, custom_app), re-read past the cache when WeCom refuses it (40001). */
  #secretOf(corpId: string): SecretSource {
    const store = this.#options.store;
    return {
      location: `${store.location} (corp ${corpId})`,
      async get(options) {
        const entry = await store.getCorp(corpId, options);
        if (entry?.status !== 'active' || entry.kind === 'third_party') {
          throw new CredentialStoreError(`corp ${corpId} has no secret in ${store.location}`);
        }
        return entry.secret;
      },
    };
  }
}

/**
 * The gate of a deployment configured for one corp (`WECOM_CORP_ID`), a directory of one: requests
 * may name no corp (the task is recorded under DEFAULT_CORP_ID, as before), the corp itself, or
 * DEFAULT_CORP_ID; any other corp id is unknown.
 *
 * @throws {CorpNotServedError} `unknown_corp`
 */
export function admitSingleCorp(corpId: string, defaultCorpId: string, requested: string | undefined): string {
  if (requested === undefined) return defaultCorpId;
  if (requested === corpId || requested === defaultCorpId) return requested;
  throw unknownCorp(requested);
}

export { CorpNotServedError };
