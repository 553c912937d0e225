/**
 * The relay transport (`ZONE_TRANSPORT=relay`, the production default): the zone port's
 * `invoke(api, requestJson)` as WeCom's `POST /cgi-bin/chatdata/sync_call_program` (doc 53295) to a
 * relay program inside the zone, whose ability `invoke_<api>` hands `request_data` to the vendor SDK
 * interface of that name and answers the SDK's JSON as `response_data` (the convention of WeCom's own
 * Java and C++ demo programs, doc 54166; `relay/relay.py` is ours). The answer is the zone's, verbatim,
 * so every rule of doc 53659 (duplicates in `fail_list`, pending codes, `response_errcode`) reaches the
 * poller as it does from the emulator. Tokens and secrets: {@link WecomApiClient}.
 *
 * WeCom's own answers to `sync_call_program` are mapped by {@link RELAY_ERRCODE_TABLE}
 * (docs/reach-your-corp.md "What WeCom's answers mean here").
 */

import type { Log } from '../../log.js';
import { isSdkCode, SDK_CODE } from '../../protocol/errcodes.js';
import { ZONE_API, type ZoneApiName } from '../../protocol/zone.js';
import { ZoneConfigurationError, ZoneTransportError } from '../errors.js';
import type { ZoneCallReach, ZoneTransport } from '../port.js';

import { WecomApiClient, type WecomApiClientOptions, type WecomApiStats } from './apiClient.js';
import { parseJobid, parseRequest } from './httpsTransport.js';
import { SDK_CODE_CREDENTIALS, SyncCallProgramAnswerSchema, syncCallProgramBody, WECOM_PATH } from './protocol.js';

/** The relay's ability for each zone interface: `invoke_<api name>` (doc 54166's convention). */
export const DEFAULT_RELAY_ABILITIES: Readonly<Record<ZoneApiName, string>> = {
  [ZONE_API.createProgramTask]: `invoke_${ZONE_API.createProgramTask}`,
  [ZONE_API.getProgramTaskResult]: `invoke_${ZONE_API.getProgramTaskResult}`,
};

/**
 * The code our relay (`relay/relay.py`) answers when it refuses a call before reaching the SDK: not an
 * app's synchronous call, an ability outside its allow-list, no request data. Inside the vendor SDK's
 * range of transport codes on purpose, so a relay refusal is never mistaken for the zone's answer.
 */
export const RELAY_REFUSED = -10_100;

/** The protocol files an ability's admin-console settings must hold (generated: `npm run relay-protocols`). */
export const relayProtocolFile = (abilityId: string, direction: 'input' | 'output') =>
  `relay/protocol/${abilityId}.${direction}.json`;

type Mapping =
  /** WeCom or the zone is busy: answered as the interface's own answer (the poller waits, a create retries). */
  | { kind: 'busy' }
  /** The call failed on the way; `reach` says whether the relay may have called the SDK. */
  | { kind: 'transport'; sdkCode: number; reach: ZoneCallReach; meaning: string }
  /** Our configuration is wrong (program, ability, protocol): a transport failure that names the fix. */
  | { kind: 'configuration'; reach: ZoneCallReach; meaning: string; fix: (program: string, ability: string) => string };

/**
 * WeCom's errcodes of `sync_call_program` and what they mean here (WeCom's global error codes, doc
 * 90313; protocol checks doc 53337). Token refusals (40014 / 41001 / 42001) and 48002 / 60020 are
 * handled before this table, by the API client. An errcode not listed is a transport failure whose
 * outcome is unknown.
 */
export const RELAY_ERRCODE_TABLE: ReadonlyMap<number, Mapping> = new Map<number, Mapping>([
  [-1, { kind: 'busy' }],
  [45_009, { kind: 'busy' }],
  [45_033, { kind: 'busy' }],
  [
    710_674,
    {
      kind: 'transport',
      sdkCode: SDK_CODE.networkFailure,
      reach: 'not_sent',
      meaning: 'WeCom could not connect to the relay program',
    },
  ],
  [
    710_675,
    {
      kind: 'transport',
      sdkCode: SDK_CODE.networkFailure,
      reach: 'unknown',
      meaning: 'the relay program did not answer in time',
    },
  ],
  [
    710_676,
    {
      kind: 'transport',
      sdkCode: SDK_CODE.badHttpStatus,
      reach: 'unknown',
      meaning: 'the relay program answered an HTTP status other than 200',
    },
  ],
  [
    710_677,
    {
      kind: 'transport',
      sdkCode: SDK_CODE_CREDENTIALS,
      reach: 'unknown',
      meaning: 'decrypting or verifying the relay call failed in the zone',
    },
  ],
  [
    710_638,
    { kind: 'transport', sdkCode: SDK_CODE.internal, reach: 'unknown', meaning: 'calling the relay program failed' },
  ],
  [
    710_645,
    {
      kind: 'transport',
      sdkCode: SDK_CODE.internal,
      reach: 'not_sent',
      meaning: 'the relay program does not exist or is in an abnormal state',
    },
  ],
  [
    790_021,
    {
      kind: 'transport',
      sdkCode: SDK_CODE.internal,
      reach: 'not_sent',
      meaning: 'the relay program is not deployed normally',
    },
  ],
  [
    790_016,
    {
      kind: 'configuration',
      reach: 'not_sent',
      meaning: "the request does not match the ability's input protocol",
      fix: (_program, ability) =>
        `set the input protocol of ability ${ability} in the admin console to ${relayProtocolFile(ability, 'input')}`,
    },
  ],
  [
    790_014,
    {
      kind: 'configuration',
      reach: 'unknown',
      meaning: "the relay's answer does not match the ability's output protocol",
      fix: (_program, ability) =>
        `set the output protocol of ability ${ability} in the admin console to ${relayProtocolFile(ability, 'output')}`,
    },
  ],
  ...[800_001, 800_002].map((errcode): [number, Mapping] => [
    errcode,
    {
      kind: 'configuration',
      reach: 'not_sent',
      meaning: 'the relay program id is not valid',
      fix: (program) => `check WECOM_RELAY_PROGRAM_ID (now ${program}) against the program's id in the admin console`,
    },
  ]),
  [
    790_020,
    {
      kind: 'configuration',
      reach: 'not_sent',
      meaning: 'the relay program is not linked to this app',
      fix: (program) => `link program ${program} to the app in the admin console and have the corp grant it`,
    },
  ],
  ...[710_636, 800_003].map((errcode): [number, Mapping] => [
    errcode,
    {
      kind: 'configuration',
      reach: 'not_sent',
      meaning: 'the relay program has no such ability',
      fix: (program, ability) =>
        `add ability ${ability} to program ${program} (docs/reach-your-corp.md), or set WECOM_RELAY_*_ABILITY_ID to its id`,
    },
  ]),
]);

export interface RelayTransportOptions extends WecomApiClientOptions {
  /** The relay program's id in the zone (`sync_call_program`'s `program_id`). */
  programId: string;
  /** Ability ids per interface; default {@link DEFAULT_RELAY_ABILITIES}. */
  abilities?: Partial<Record<ZoneApiName, string>>;
}

/**
 * @example
 * const zone = zoneClient(new RelayTransport({ corpId, corpSecret: ssmSecret({ name }), programId: 'pg_relay' }));
 */
export class RelayTransport implements ZoneTransport {
  readonly #api: WecomApiClient;
  readonly #programId: string;
  readonly #abilities: Record<ZoneApiName, string>;
  readonly #logger?: Log;

  constructor(options: RelayTransportOptions) {
    if (!options.programId) throw new TypeError('programId is required');
    this.#api = new WecomApiClient(options);
    this.#programId = options.programId;
    this.#abilities = { ...DEFAULT_RELAY_ABILITIES, ...options.abilities };
    this.#logger = options.logger;
  }

  get stats(): WecomApiStats {
    return this.#api.stats;
  }

  /**
   * @returns the zone interface's answer, verbatim from the relay
   * @throws {ZoneTransportError} WeCom or the relay failed (see {@link RELAY_ERRCODE_TABLE}); `reach`
   *   says whether a create may have made a task
   * @throws {ZoneConfigurationError} program, ability or protocol misconfigured; the message says how to fix it
   */
  async invoke(apiName: string, requestJson: string): Promise<string> {
    if (apiName === ZONE_API.getProgramTaskResult) parseJobid(apiName, requestJson);
    else if (apiName === ZONE_API.createProgramTask) parseRequest(apiName, requestJson);
    else throw new ZoneTransportError(SDK_CODE.unknownApi, `unknown zone API: ${apiName}`, 'not_sent');
    const ability = this.#abilities[apiName];
    const raw = await this.#api.post(
      apiName,
      WECOM_PATH.syncCallProgram,
      syncCallProgramBody(this.#programId, ability, requestJson),
    );
    const parsed = SyncCallProgramAnswerSchema.safeParse(raw);
    if (!parsed.success)
      throw new ZoneTransportError(
        SDK_CODE.invalidJson,
        `${apiName}: WeCom's sync_call_program answer does not follow the protocol`,
      );
    const answer = parsed.data;
    if (answer.errcode === 0) return this.#relayed(apiName, answer.response_data);
    return this.#mapped(apiName, ability, answer.errcode, answer.errmsg);
  }

  /** The relay's answer: the SDK's JSON, unless the relay reports that the SDK call itself failed. */
  #relayed(apiName: string, responseData: string | undefined): string {
    if (responseData === undefined || responseData === '') {
      throw new ZoneTransportError(SDK_CODE.invalidJson, `${apiName}: the relay answered without response_data`);
    }
    let errcode: unknown;
    try {
      errcode = (JSON.parse(responseData) as { errcode?: unknown } | null)?.errcode;
    } catch {
      throw new ZoneTransportError(SDK_CODE.invalidJson, `${apiName}: the relay's response_data is not JSON`);
    }
    if (typeof errcode === 'number' && isSdkCode(errcode)) {
      // Only the code: a relay's errmsg is not ours to vouch for (a foreign relay might quote the request).
      if (errcode === RELAY_REFUSED) {
        this.#logger?.error('the relay refused the call', { api: apiName, errcode });
        throw new ZoneConfigurationError(
          errcode,
          `${apiName}: the relay refused the call (${errcode}): check its ability allow-list and version`,
          'not_sent',
        );
      }
      this.#logger?.warn("the relay's SDK call failed", { api: apiName, errcode });
      throw new ZoneTransportError(
        errcode,
        `${apiName}: the relay's SDK call failed (${errcode}); the zone may have acted on it`,
        'unknown',
      );
    }
    return responseData;
  }

  #mapped(apiName: string, ability: string, errcode: number, errmsg: string): string {
    const mapping = RELAY_ERRCODE_TABLE.get(errcode);
    if (mapping?.kind === 'busy') {
      // WeCom refused before calling the relay: the zone interface's own busy answer, nothing created.
      return JSON.stringify({ errcode, errmsg, fail_list: [] });
    }
    if (mapping?.kind === 'configuration') {
      this.#logger?.error('relay configuration error', {
        api: apiName,
        errcode,
        programId: this.#programId,
        abilityId: ability,
      });
      throw new ZoneConfigurationError(
        SDK_CODE.internal,
        `${apiName}: WeCom answered ${errcode} for relay ability ${ability}: ${mapping.meaning}; ${mapping.fix(this.#programId, ability)}`,
        mapping.reach,
        errcode,
      );
    }
    if (mapping?.kind === 'transport') {
      this.#logger?.warn('relay call failed', { api: apiName, errcode });
      throw new ZoneTransportError(
        mapping.sdkCode,
        `${apiName}: WeCom answered ${errcode}: ${mapping.meaning}`,
        mapping.reach,
        errcode,
      );
    }
    this.#logger?.warn('unexpected WeCom answer to sync_call_program', { api: apiName, errcode });
    throw new ZoneTransportError(
      SDK_CODE.internal,
      `${apiName}: WeCom answered ${errcode} to sync_call_program`,
      'unknown',
      errcode,
    );
  }
}
