/**
 * A local fake of WeCom's public HTTPS API (spec section 1), on 127.0.0.1 and a free port:
 *   GET  /cgi-bin/gettoken?corpid=&corpsecret=            → {errcode, errmsg, access_token, expires_in}
 *   POST /cgi-bin/chatdata/async_program_task?access_token=   {program_id, ability_id, request_data}
 *   POST /cgi-bin/chatdata/async_program_result?access_token= {jobid}
 *   POST /cgi-bin/chatdata/sync_call_program?access_token=    {program_id, ability_id, request_data}
 * `sync_call_program` (doc 53295) checks the program (800001), the ability (710636) and the input
 * protocol (790016, doc 53337), forwards the call to the relay program (`relay` option) the way the
 * fake vendor SDK decodes it (`test/support/fake_sdk/wwspecapisdk.py`: a signed plain-JSON body), and
 * checks the answer: relay unreachable 710674, too slow 710675, not HTTP 200 710676, exception header
 * or bad signature 710677 (doc 90313's global codes), output protocol 790014.
 *   POST /cgi-bin/chatdata/open_debug_mode | close_debug_mode | check_debug_mode (docs 54810–54812)
 * open and close the relay program's debug mode (`debug_token` must be `relay.debugToken`).
 * The chatdata endpoints are backed by a {@link ZoneEmulator}: `request_data` is handed to its
 * `create_program_task`, so tasks really run. Tokens: a missing one is 41001, an unknown or revoked
 * one 40014, an expired one 42001. Tokens live `tokenLifetimeSeconds` on the fake's clock (default:
 * what `expires_in` says), or until `tokenUses` calls, or until `expireTokens()`.
 *
 * Many corps (issue 12): `corps` adds self-built / 代开发 corps (gettoken with their own secret, doc
 * 91039 / 42543), `suites` adds a provider's suites with WeCom's suite interfaces:
 *   POST /cgi-bin/service/get_suite_token                       {suite_id, suite_secret, suite_ticket} (docs 14939, 42541)
 *   POST /cgi-bin/service/get_corp_token?suite_access_token=    {auth_corpid, permanent_code} (doc 14944)
 *   POST /cgi-bin/service/v2/get_permanent_code?suite_access_token= {auth_code} (docs 57310, 42542)
 * whose success answers carry no errcode (as the docs say, "该接口在调用失败时才返回errcode"). The
 * fake pushes WeCom's callbacks to a suite's URL, signed and AES-encrypted with `@wecom/crypto`
 * (doc 12976): suite_ticket (doc 14947), create_auth / change_auth / cancel_auth (doc 14951),
 * reset_permanent_code (doc 31408). Each corp's chatdata calls reach its own zone (the emulator with
 * the corp as context: a jobid of corp A is unknown to corp B).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { encrypt as wecomEncrypt, getSignature as wecomSignature } from '@wecom/crypto';
import { relayProtocolFiles } from '../../lib/protocol/relayProtocols.js';
import { protocolMismatch } from '../../lib/render/protocolMatch.js';
import { close, listen, readBody, sendJson } from '../../lib/shared/nodeHttp.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { isConnectionRefused } from '../../lib/zone/port.js';

export interface FakeWecomApiOptions {
  /** Default: a free port. */
  port?: number;
  corpId?: string;
  corpSecret?: string;
  /** The zone program (and ability) async_program_task accepts. */
  zoneProgramId?: string;
  zoneAbilityId?: string;
  /** Default: the sample configuration, programs answering after `programLatencyMs`. */
  emulator?: ZoneEmulator;
  programLatencyMs?: number;
  /** What gettoken answers as `expires_in`. Default 7200. */
  expiresInSeconds?: number;
  /** How long a token really lives on the fake's clock. Default: `expiresInSeconds`. */
  tokenLifetimeSeconds?: number;
  /** A token expires (42001) after this many chatdata calls. */
  tokenUses?: number;
  /** Delay of every gettoken answer (to hold concurrent callers on one refresh). */
  gettokenDelayMs?: number;
  /** Send the emulator's result-time fail_list (which the public API does not document). Default false. */
  resultFailList?: boolean;
  /** The relay program `sync_call_program` calls; without it every program id is unknown (800001). */
  relay?: FakeRelayProgram;
  /** More corps reached with gettoken (self-built, or 代开发 with the secret their permanent code is): corp id → secret. */
  corps?: Record<string, string>;
  /** A provider's suites (third-party apps or 代开发 templates). */
  suites?: Record<string, FakeSuite>;
  now?: () => number;
}

export interface FakeSuite {
  kind: 'third_party' | 'custom_app';
  secret: string;
  /** The callback's Token and EncodingAESKey. */
  token: string;
  encodingAesKey: string;
}

/** What one call of a corp or suite looked like, for per-corp assertions. */
export interface FakeCorpCall {
  kind: FakeCallKind | 'get_suite_token' | 'get_corp_token' | 'get_permanent_code';
  /** The corp the token belongs to, or the suite for suite calls. */
  owner: string;
  /** The token used (or issued); test assertions only. */
  token?: string;
  errcode: number;
}

export interface FakeRelayProgram {
  /** Default RELAY_PROGRAM. */
  programId?: string;
  /** Where the relay listens (its standalone server). */
  url: string;
  /** Ability id → its input and output protocol samples; default: the generated `relay/protocol/` files. */
  abilities?: Record<string, { input: unknown; output: unknown }>;
  /** How long WeCom waits for the relay before answering 710675. Default 5000. */
  timeoutMs?: number;
  /** The app's agentid the call carries. Default 1000002. */
  agentId?: number;
  /** Shared with the fake SDK (FAKE_SPEC_SIGNING_KEY). Default fake-spec-signing-key. */
  signingKey?: string;
  /** The program's debug token (admin console → 调试). Default fake-debug-token. */
  debugToken?: string;
}

/** The relay protocols an admin would paste into the console: the generated samples. */
export function generatedRelayAbilities(): Record<string, { input: unknown; output: unknown }> {
  const abilities: Record<string, { input: unknown; output: unknown }> = {};
  for (const file of relayProtocolFiles()) {
    abilities[file.abilityId] ??= { input: {}, output: {} };
    (abilities[file.abilityId] as Record<string, unknown>)[file.direction] = file.sample;
  }
  return abilities;
}

export const DEFAULT_FAKE_SIGNING_KEY = 'fake-spec-signing-key';

/** The fake SDK's signature: lowercase hex HMAC-SHA256 of the body. */
export function fakeSpecSignature(body: string, key = DEFAULT_FAKE_SIGNING_KEY): string {
  return createHmac('sha256', key).update(body, 'utf8').digest('hex');
}

export type FakeCallKind =
  | 'gettoken'
  | 'async_program_task'
  | 'async_program_result'
  | 'sync_call_program'
  | 'open_debug_mode'
  | 'close_debug_mode'
  | 'check_debug_mode';

export interface FakeEvent {
  kind: FakeCallKind;
  errcode: number;
  /** Which token (1, 2, ...) the call used or gettoken issued; 0 for none or unknown. */
  tokenNumber: number;
}

interface IssuedToken {
  number: number;
  expiresAt: number;
  uses: number;
  revoked: boolean;
}

export interface FakeWecomApi {
  url: string;
  emulator: ZoneEmulator;
  /** Every call in order, with its errcode. */
  events: FakeEvent[];
  /** Every token issued, for scanning logs and errors (suite and corp tokens too). */
  issuedTokens: string[];
  /** Every call of the many-corp interfaces, with whose token it carried. */
  corpCalls: FakeCorpCall[];
  /** Every secret-like value the fake handed out or holds: tickets, auth codes, permanent codes, tokens. */
  secrets(): string[];
  /** Push a new suite_ticket to `callbackUrl`; returns WeCom's answer status. */
  pushSuiteTicket(callbackUrl: string, suiteId: string): Promise<{ status: number; body: string }>;
  /** A corp installs the suite's app: create_auth with a fresh auth code. */
  authorise(callbackUrl: string, suiteId: string, corpId: string): Promise<{ status: number; body: string }>;
  /** The corp changes its authorisation: change_auth. */
  changeAuth(callbackUrl: string, suiteId: string, corpId: string): Promise<{ status: number; body: string }>;
  /** The corp cancels: its permanent code and tokens stop working; cancel_auth is pushed. */
  cancelAuth(callbackUrl: string, suiteId: string, corpId: string): Promise<{ status: number; body: string }>;
  /** The provider resets a 代开发 corp's secret: reset_permanent_code with a fresh auth code. */
  resetPermanentCode(callbackUrl: string, suiteId: string, corpId: string): Promise<{ status: number; body: string }>;
  /** POST an arbitrary encrypted event (e.g. a repeat), signed with `token` (default: the suite's). */
  postEvent(
    callbackUrl: string,
    suiteId: string,
    fields: Record<string, string | number>,
    options?: { token?: string; receiveId?: string },
  ): Promise<{ status: number; body: string }>;
  /** A new suite_ticket, recorded as pushed without posting it (a test hands it over itself). */
  issueTicket(suiteId: string): { ticket: string; timestamp: number };
  /** A fresh auth code, as create_auth would carry (a test exchanges it itself). */
  issueAuthCode(suiteId: string, corpId: string): string;
  /** Every suite_access_token issued so far expires now (next use: 42009). */
  expireSuiteTokens(): void;
  /** The permanent code WeCom issued for a corp (test assertions only). */
  permanentCodeOf(corpId: string): string | undefined;
  /** The bodies async_program_task received (test assertions only: they hold secret keys). */
  taskBodies: unknown[];
  /** The `sync_call_program` bodies received (test assertions only: they hold secret keys). */
  syncCallBodies: unknown[];
  /** Whether the relay program is in debug mode (open_debug_mode called with its token, not closed). */
  readonly debugMode: boolean;
  count(kind: FakeCallKind, errcode?: number): number;
  /** Every token issued so far expires now (next use: 42001). */
  expireTokens(): void;
  /** Every token issued so far is revoked (next use: 40014). */
  revokeTokens(): void;
  /** The next `times` gettoken calls answer `errcode` (e.g. -1 busy) instead of a token. */
  failGettoken(errcode: number, times?: number): void;
  /** The next `times` chatdata calls are refused with `errcode` (40014, 41001, 42001...), whatever the token. */
  refuseChatdata(errcode: number, times?: number): void;
  /** The next `times` gettoken calls answer HTTP 502 / drop the connection. */
  breakGettoken(how: 'http502' | 'drop', times?: number): void;
  /** Rotate the corp secret: gettoken with the old one answers 40001. */
  setCorpSecret(secret: string): void;
  /** What the admin console holds for a relay ability (undefined: the ability is removed). */
  setRelayAbility(abilityId: string, protocols: { input: unknown; output: unknown } | undefined): void;
  close(): Promise<void>;
}

const ERRMSG: Record<number, string> = {
  40001: 'invalid credential, hint: [fake]',
  40013: 'invalid corpid, hint: [fake]',
  40014: 'invalid access_token, hint: [fake]',
  41001: 'access_token missing, hint: [fake]',
  41002: 'corpid missing, hint: [fake]',
  41004: 'corpsecret missing, hint: [fake]',
  42001: 'access_token expired, hint: [fake]',
  40058: 'invalid parameter, hint: [fake]',
  47001: 'data format error, hint: [fake]',
  800001: 'program not found, hint: [fake]',
  710636: 'ability not found, hint: [fake]',
  710674: 'connect to spec program failed, hint: [fake]',
  710675: 'spec program read/write timeout, hint: [fake]',
  710676: 'spec program http status not 200, hint: [fake]',
  710677: 'spec decrypt or verify signature failed, hint: [fake]',
  790014: 'json response does not match the template, hint: [fake]',
  790016: 'json request does not match the template, hint: [fake]',
};

export async function startFakeWecomApi(options: FakeWecomApiOptions = {}): Promise<FakeWecomApi> {
  const corpId = options.corpId ?? 'ww-fake-corp';
  let corpSecret = options.corpSecret ?? 'fake-corp-secret';
  const zoneProgramId = options.zoneProgramId ?? 'ZONE_PROGRAM';
  const zoneAbilityId = options.zoneAbilityId ?? 'run_task';
  const now = options.now ?? Date.now;
  const expiresIn = options.expiresInSeconds ?? 7200;
  const lifetimeMs = (options.tokenLifetimeSeconds ?? expiresIn) * 1000;
  const emulator =
    options.emulator ??
    new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(options.programLatencyMs ?? 0) });

  const tokens = new Map<string, IssuedToken>();
  const events: FakeEvent[] = [];
  const issuedTokens: string[] = [];
  const taskBodies: unknown[] = [];
  const syncCallBodies: unknown[] = [];
  let debugMode = false;
  const gettokenFaults = new Faults<number>();
  const chatdataRefusals = new Faults<number>();
  const gettokenBreaks = new Faults<'http502' | 'drop'>();

  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const answer = (kind: FakeCallKind, body: Record<string, unknown> & { errcode: number }, tokenNumber = 0) => {
      events.push({ kind, errcode: body.errcode, tokenNumber });
      sendJson(response, 200, body);
    };
    const error = (kind: FakeCallKind, errcode: number, tokenNumber = 0) =>
      answer(kind, { errcode, errmsg: ERRMSG[errcode] ?? 'error' }, tokenNumber);

    if (request.method === 'GET' && url.pathname === '/cgi-bin/gettoken') {
      const broken = gettokenBreaks.take();
      if (broken === 'drop') {
        response.destroy();
        return;
      }
      if (broken === 'http502') {
        sendJson(response, 502, { message: 'bad gateway' });
        return;
      }
      if (options.gettokenDelayMs) await new Promise((resolve) => setTimeout(resolve, options.gettokenDelayMs));
      const fault = gettokenFaults.take();
      if (fault !== undefined) return error('gettoken', fault);
      const corpid = url.searchParams.get('corpid');
      const secret = url.searchParams.get('corpsecret');
      if (!corpid) return error('gettoken', 41002);
      if (!secret) return error('gettoken', 41004);
      const known = corpid === corpId ? corpSecret : extraCorps.get(corpid);
      if (known === undefined) return error('gettoken', 40013);
      if (secret !== known) return error('gettoken', 40001);
      const token = randomBytes(48).toString('base64url');
      tokenOwner.set(token, corpid);
      corpCalls.push({ kind: 'gettoken', owner: corpid, token, errcode: 0 });
      const issued: IssuedToken = {
        number: issuedTokens.length + 1,
        expiresAt: now() + lifetimeMs,
        uses: 0,
        revoked: false,
      };
      tokens.set(token, issued);
      issuedTokens.push(token);
      return answer(
        'gettoken',
        { errcode: 0, errmsg: 'ok', access_token: token, expires_in: expiresIn },
        issued.number,
      );
    }

    if (request.method === 'POST' && url.pathname.startsWith('/cgi-bin/service/')) {
      return serviceCall(url, (await readBody(request)).toString('utf8'), response);
    }

    const kinds: Record<string, FakeCallKind> = {
      '/cgi-bin/chatdata/async_program_task': 'async_program_task',
      '/cgi-bin/chatdata/async_program_result': 'async_program_result',
      '/cgi-bin/chatdata/sync_call_program': 'sync_call_program',
      '/cgi-bin/chatdata/open_debug_mode': 'open_debug_mode',
      '/cgi-bin/chatdata/close_debug_mode': 'close_debug_mode',
      '/cgi-bin/chatdata/check_debug_mode': 'check_debug_mode',
    };
    const kind: FakeCallKind | undefined = kinds[url.pathname];
    if (request.method !== 'POST' || !kind) {
      sendJson(response, 404, { errcode: 404, errmsg: 'not found' });
      return;
    }
    const body = (await readBody(request)).toString('utf8');
    const token = url.searchParams.get('access_token');
    if (!token) return error(kind, 41001);
    const issued = tokens.get(token);
    if (!issued || issued.revoked) return error(kind, 40014);
    const owner = tokenOwner.get(token) ?? corpId;
    if (!servedCorp(owner)) return error(kind, 40014);
    corpCalls.push({ kind, owner, token, errcode: 0 });
    // The default corp keeps the emulator's one-corp view; every other corp has its own zone.
    const zoneCorp = owner === corpId ? undefined : owner;
    const refusal = chatdataRefusals.take();
    if (refusal !== undefined) return error(kind, refusal, issued.number);
    if (now() >= issued.expiresAt || (options.tokenUses !== undefined && issued.uses >= options.tokenUses)) {
      return error(kind, 42001, issued.number);
    }
    issued.uses += 1;

    let parsed: Record<string, unknown>;
    try {
      const value: unknown = JSON.parse(body);
      if (value === null || typeof value !== 'object') throw new Error('not an object');
      parsed = value as Record<string, unknown>;
    } catch {
      return error(kind, 47001, issued.number);
    }

    if (kind === 'open_debug_mode' || kind === 'close_debug_mode' || kind === 'check_debug_mode') {
      const relay = options.relay;
      if (!relay || parsed.program_id !== (relay.programId ?? 'RELAY_PROGRAM'))
        return error(kind, 800001, issued.number);
      if (kind === 'open_debug_mode') {
        if (parsed.debug_token !== (relay.debugToken ?? 'fake-debug-token')) return error(kind, 40058, issued.number);
        debugMode = true;
      }
      if (kind === 'close_debug_mode') debugMode = false;
      const status = kind === 'check_debug_mode' ? { debug_mode_status: debugMode ? 2 : 1 } : {};
      return answer(kind, { errcode: 0, errmsg: 'ok', ...status }, issued.number);
    }

    if (kind === 'sync_call_program') {
      syncCallBodies.push(parsed);
      const relay = options.relay;
      const ability =
        relay && parsed.program_id === (relay.programId ?? 'RELAY_PROGRAM')
          ? relayAbilities[String(parsed.ability_id)]
          : undefined;
      if (!relay || parsed.program_id !== (relay.programId ?? 'RELAY_PROGRAM'))
        return error(kind, 800001, issued.number);
      if (!ability) return error(kind, 710636, issued.number);
      if (typeof parsed.request_data !== 'string') return error(kind, 40058, issued.number);
      let requestData: unknown;
      try {
        requestData = JSON.parse(parsed.request_data);
      } catch {
        return error(kind, 790016, issued.number);
      }
      if (protocolMismatch(requestData, ability.input)) return error(kind, 790016, issued.number);
      const outcome = await callRelay(relay, {
        corpid: corpId,
        agentid: relay.agentId ?? 1000002,
        call_type: 1,
        is_async: false,
        ability_id: String(parsed.ability_id),
        notify_id: typeof parsed.notify_id === 'string' ? parsed.notify_id : '',
        job_info: '',
        data: parsed.request_data,
      });
      if (typeof outcome === 'number') return error(kind, outcome, issued.number);
      let responseData: unknown;
      try {
        responseData = JSON.parse(outcome);
      } catch {
        return error(kind, 790014, issued.number);
      }
      if (protocolMismatch(responseData, ability.output)) return error(kind, 790014, issued.number);
      return answer(kind, { errcode: 0, errmsg: 'ok', response_data: outcome }, issued.number);
    }

    if (kind === 'async_program_task') {
      taskBodies.push(parsed);
      if (parsed.program_id !== zoneProgramId) return error(kind, 800001, issued.number);
      if (parsed.ability_id !== zoneAbilityId) return error(kind, 710636, issued.number);
      if (typeof parsed.request_data !== 'string') return error(kind, 40058, issued.number);
      let createRequest: unknown;
      try {
        createRequest = JSON.parse(parsed.request_data);
      } catch {
        return error(kind, 40058, issued.number);
      }
      // The zone program runs create_program_task with request_data; the public API answers its jobid.
      const created = emulator.createProgramTask(createRequest, zoneCorp);
      const { errcode, errmsg, jobid } = created;
      return answer(kind, { errcode, errmsg: errmsg ?? '', ...(jobid ? { jobid } : {}) }, issued.number);
    }
    // async_program_result: the public API documents no fail_list; the fake sends one only if asked to.
    const { fail_list: failList, ...result } = emulator.getProgramTaskResult({ jobid: parsed.jobid }, zoneCorp);
    const withFailList = options.resultFailList && failList?.length ? { fail_list: failList } : {};
    return answer(kind, { ...result, errmsg: result.errmsg ?? '', ...withFailList }, issued.number);
  });

  const relayAbilities = { ...(options.relay?.abilities ?? generatedRelayAbilities()) };

  // Many corps: more gettoken corps, suites with their tickets, auth codes, permanent codes and tokens.
  const extraCorps = new Map(Object.entries(options.corps ?? {}));
  const suites = new Map(Object.entries(options.suites ?? {}));
  const tokenOwner = new Map<string, string>();
  const corpCalls: FakeCorpCall[] = [];
  /** The tickets pushed per suite, newest last (WeCom accepts the latest; a ticket lives 30 min). */
  const tickets = new Map<string, string[]>();
  const authCodes = new Map<string, { suiteId: string; corpId: string; used: boolean }>();
  /** corp → its permanent code and suite (revoked on cancel_auth). */
  const permanentCodes = new Map<string, { suiteId: string; code: string }>();
  const suiteTokens = new Map<string, { suiteId: string; expiresAt: number }>();
  const cancelled = new Set<string>();
  const handedOut: string[] = [];

  function servedCorp(owner: string): boolean {
    return !cancelled.has(owner);
  }

  /** WeCom's suite interfaces; success answers without errcode (docs 14939, 14944). */
  function serviceCall(url: URL, body: string, response: import('node:http').ServerResponse): undefined {
    const path = url.pathname;
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(body) as Record<string, unknown>;
    } catch {
      sendJson(response, 200, { errcode: 47001, errmsg: ERRMSG[47001] });
      return;
    }
    const reply = (
      kind: FakeCorpCall['kind'],
      owner: string,
      answer: Record<string, unknown>,
      token?: string,
    ): undefined => {
      corpCalls.push({ kind, owner, token, errcode: typeof answer.errcode === 'number' ? answer.errcode : 0 });
      sendJson(response, 200, answer);
    };
    if (path === '/cgi-bin/service/get_suite_token') {
      const suiteId = String(parsed.suite_id ?? '');
      const suite = suites.get(suiteId);
      if (!suite)
        return reply('get_suite_token', suiteId, { errcode: 40083, errmsg: 'invalid suite_id, hint: [fake]' });
      if (parsed.suite_secret !== suite.secret)
        return reply('get_suite_token', suiteId, { errcode: 40080, errmsg: 'invalid suite_secret, hint: [fake]' });
      // The latest ticket, or the one before it (a ticket lives 30 minutes, one is pushed every 10).
      const recent = (tickets.get(suiteId) ?? []).slice(-2);
      if (!recent.includes(String(parsed.suite_ticket ?? '')))
        return reply('get_suite_token', suiteId, { errcode: 40085, errmsg: 'invalid suite_ticket, hint: [fake]' });
      const token = randomBytes(48).toString('base64url');
      suiteTokens.set(token, { suiteId, expiresAt: now() + lifetimeMs });
      issuedTokens.push(token);
      return reply('get_suite_token', suiteId, { suite_access_token: token, expires_in: expiresIn }, token);
    }
    const suiteToken = url.searchParams.get('suite_access_token') ?? '';
    const held = suiteTokens.get(suiteToken);
    const kind = path.endsWith('get_corp_token') ? 'get_corp_token' : 'get_permanent_code';
    if (!held) return reply(kind, '', { errcode: 40082, errmsg: 'invalid suite_token, hint: [fake]' });
    if (now() >= held.expiresAt)
      return reply(kind, held.suiteId, { errcode: 42009, errmsg: 'suite_token expired, hint: [fake]' });
    if (path === '/cgi-bin/service/get_corp_token') {
      const corp = String(parsed.auth_corpid ?? '');
      const code = permanentCodes.get(corp);
      if (!code || code.suiteId !== held.suiteId || code.code !== parsed.permanent_code)
        return reply(kind, corp, { errcode: 40084, errmsg: 'invalid permanent_code, hint: [fake]' });
      const token = randomBytes(48).toString('base64url');
      tokens.set(token, { number: issuedTokens.length + 1, expiresAt: now() + lifetimeMs, uses: 0, revoked: false });
      issuedTokens.push(token);
      tokenOwner.set(token, corp);
      return reply(kind, corp, { access_token: token, expires_in: expiresIn }, token);
    }
    if (path === '/cgi-bin/service/v2/get_permanent_code') {
      const authCode = authCodes.get(String(parsed.auth_code ?? ''));
      if (!authCode || authCode.used || authCode.suiteId !== held.suiteId)
        return reply(kind, held.suiteId, { errcode: 40078, errmsg: 'invalid auth_code, hint: [fake]' });
      authCode.used = true;
      const code = randomBytes(32).toString('base64url');
      handedOut.push(code);
      permanentCodes.set(authCode.corpId, { suiteId: held.suiteId, code });
      cancelled.delete(authCode.corpId);
      const suite = suites.get(held.suiteId);
      // A 代开发 corp's permanent code is its secret for gettoken (doc 42542).
      if (suite?.kind === 'custom_app') extraCorps.set(authCode.corpId, code);
      return reply(kind, authCode.corpId, {
        errcode: 0,
        errmsg: 'ok',
        permanent_code: code,
        auth_corp_info: { corpid: authCode.corpId, corp_name: `corp ${authCode.corpId}` },
      });
    }
    sendJson(response, 404, { errcode: 404, errmsg: 'not found' });
  }

  async function postEvent(
    callbackUrl: string,
    suiteId: string,
    fields: Record<string, string | number>,
    postOptions: { token?: string; receiveId?: string } = {},
  ): Promise<{ status: number; body: string }> {
    const suite = suites.get(suiteId);
    if (!suite) throw new Error(`fake: no suite ${suiteId}`);
    const inner = `<xml>${Object.entries({ SuiteId: suiteId, ...fields })
      .map(([name, value]) =>
        typeof value === 'number' ? `<${name}>${value}</${name}>` : `<${name}><![CDATA[${value}]]></${name}>`,
      )
      .join('')}</xml>`;
    const encrypted = wecomEncrypt(suite.encodingAesKey, inner, postOptions.receiveId ?? suiteId);
    const timestamp = String(Math.floor(now() / 1000));
    const nonce = randomBytes(6).toString('hex');
    const signature = wecomSignature(postOptions.token ?? suite.token, timestamp, nonce, encrypted);
    const target = new URL(callbackUrl);
    target.search = new URLSearchParams({ msg_signature: signature, timestamp, nonce }).toString();
    const answer = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: `<xml><ToUserName><![CDATA[${suiteId}]]></ToUserName><Encrypt><![CDATA[${encrypted}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>`,
    });
    return { status: answer.status, body: await answer.text() };
  }

  function newAuthCode(suiteId: string, corp: string): string {
    const code = randomBytes(40).toString('base64url');
    authCodes.set(code, { suiteId, corpId: corp, used: false });
    handedOut.push(code);
    return code;
  }

  /** One call to the relay as WeCom makes it; the relay's response_data, or WeCom's errcode for the failure. */
  async function callRelay(relay: FakeRelayProgram, call: Record<string, unknown>): Promise<string | number> {
    const key = relay.signingKey ?? DEFAULT_FAKE_SIGNING_KEY;
    const body = JSON.stringify(call);
    let response: Response;
    let text: string;
    try {
      response = await fetch(relay.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-fake-spec-signature': fakeSpecSignature(body, key) },
        body,
        signal: AbortSignal.timeout(relay.timeoutMs ?? 5000),
      });
      text = await response.text();
    } catch (failure) {
      // 710674 is "连接失败", connecting failed; a timeout or a connection cut after the call was sent
      // is a read/write failure, 710675 (the relay may have called the SDK).
      return isConnectionRefused(failure) ? 710674 : 710675;
    }
    if (response.status !== 200) return 710676;
    if (response.headers.get('x-fake-spec-exception')) return 710677;
    if (response.headers.get('x-fake-spec-signature') !== fakeSpecSignature(text, key)) return 710677;
    try {
      const decoded = JSON.parse(text) as { response_data?: unknown };
      return typeof decoded.response_data === 'string' ? decoded.response_data : 710677;
    } catch {
      return 710677;
    }
  }

  const url = await listen(server, options.port ?? 0, '127.0.0.1');
  return {
    url,
    emulator,
    events,
    issuedTokens,
    corpCalls,
    secrets: () => [
      ...issuedTokens,
      ...handedOut,
      ...[...tickets.values()].flat(),
      ...[...suites.values()].flatMap((suite) => [suite.secret, suite.token, suite.encodingAesKey]),
      ...extraCorps.values(),
      corpSecret,
    ],
    async pushSuiteTicket(callbackUrl, suiteId) {
      const ticket = randomBytes(40).toString('base64url');
      const pushed = [...(tickets.get(suiteId) ?? []), ticket];
      tickets.set(suiteId, pushed);
      return postEvent(callbackUrl, suiteId, {
        InfoType: 'suite_ticket',
        TimeStamp: Math.floor(now() / 1000) + pushed.length,
        SuiteTicket: ticket,
      });
    },
    authorise: (callbackUrl, suiteId, corp) =>
      postEvent(callbackUrl, suiteId, {
        InfoType: 'create_auth',
        AuthCode: newAuthCode(suiteId, corp),
        TimeStamp: Math.floor(now() / 1000),
      }),
    changeAuth: (callbackUrl, suiteId, corp) =>
      postEvent(callbackUrl, suiteId, {
        InfoType: 'change_auth',
        AuthCorpId: corp,
        TimeStamp: Math.floor(now() / 1000),
      }),
    async cancelAuth(callbackUrl, suiteId, corp) {
      cancelled.add(corp);
      permanentCodes.delete(corp);
      if (suites.get(suiteId)?.kind === 'custom_app') extraCorps.delete(corp);
      return postEvent(callbackUrl, suiteId, {
        InfoType: 'cancel_auth',
        AuthCorpId: corp,
        TimeStamp: Math.floor(now() / 1000),
      });
    },
    resetPermanentCode: (callbackUrl, suiteId, corp) =>
      postEvent(callbackUrl, suiteId, {
        InfoType: 'reset_permanent_code',
        AuthCode: newAuthCode(suiteId, corp),
        TimeStamp: Math.floor(now() / 1000),
      }),
    postEvent,
    permanentCodeOf: (corp) => permanentCodes.get(corp)?.code,
    issueTicket(suiteId) {
      const ticket = randomBytes(40).toString('base64url');
      const pushed = [...(tickets.get(suiteId) ?? []), ticket];
      tickets.set(suiteId, pushed);
      return { ticket, timestamp: Math.floor(now() / 1000) + pushed.length };
    },
    issueAuthCode: (suiteId, corp) => newAuthCode(suiteId, corp),
    expireSuiteTokens() {
      const at = now();
      for (const held of suiteTokens.values()) held.expiresAt = Math.min(held.expiresAt, at);
    },
    taskBodies,
    syncCallBodies,
    get debugMode() {
      return debugMode;
    },
    count: (kind, errcode) =>
      events.filter((event) => event.kind === kind && (errcode === undefined || event.errcode === errcode)).length,
    expireTokens() {
      const at = now();
      for (const issued of tokens.values()) issued.expiresAt = Math.min(issued.expiresAt, at);
    },
    revokeTokens() {
      for (const issued of tokens.values()) issued.revoked = true;
    },
    failGettoken: (errcode, times = 1) => gettokenFaults.add(errcode, times),
    refuseChatdata: (errcode, times = 1) => chatdataRefusals.add(errcode, times),
    breakGettoken: (how, times = 1) => gettokenBreaks.add(how, times),
    setCorpSecret(secret) {
      corpSecret = secret;
    },
    setRelayAbility(abilityId, protocols) {
      if (protocols) relayAbilities[abilityId] = protocols;
      else delete relayAbilities[abilityId];
    },
    close: () => close(server),
  };
}

/** Faults to inject: each `add` queues a value for the next `times` calls (Infinity: for good). */
class Faults<T> {
  readonly #queue: Array<{ value: T; remaining: number }> = [];

  add(value: T, times: number): void {
    this.#queue.push({ value, remaining: times });
  }

  take(): T | undefined {
    const head = this.#queue[0];
    if (!head) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) this.#queue.shift();
    return head.value;
  }
}
