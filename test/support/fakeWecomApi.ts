/**
 * A local fake of WeCom's public HTTPS API (spec section 1), on 127.0.0.1 and a free port:
 *   GET  /cgi-bin/gettoken?corpid=&corpsecret=            → {errcode, errmsg, access_token, expires_in}
 *   POST /cgi-bin/chatdata/async_program_task?access_token=   {program_id, ability_id, request_data}
 *   POST /cgi-bin/chatdata/async_program_result?access_token= {jobid}
 * The chatdata endpoints are backed by a {@link ZoneEmulator}: `request_data` is handed to its
 * `create_program_task`, so tasks really run. Tokens: a missing one is 41001, an unknown or revoked
 * one 40014, an expired one 42001. Tokens live `tokenLifetimeSeconds` on the fake's clock (default:
 * what `expires_in` says), or until `tokenUses` calls, or until `expireTokens()`.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { close, listen, readBody, sendJson } from '../../lib/local/nodeHttp.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';

export interface FakeWecomApiOptions {
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
  now?: () => number;
}

export type FakeCallKind = 'gettoken' | 'async_program_task' | 'async_program_result';

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
  /** Every token issued, for scanning logs and errors. */
  issuedTokens: string[];
  /** The bodies async_program_task received (test assertions only: they hold secret keys). */
  taskBodies: unknown[];
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
    options.emulator ?? new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(options.programLatencyMs ?? 0) });

  const tokens = new Map<string, IssuedToken>();
  const events: FakeEvent[] = [];
  const issuedTokens: string[] = [];
  const taskBodies: unknown[] = [];
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
      if (corpid !== corpId) return error('gettoken', 40013);
      if (secret !== corpSecret) return error('gettoken', 40001);
      const token = randomBytes(48).toString('base64url');
      const issued: IssuedToken = { number: issuedTokens.length + 1, expiresAt: now() + lifetimeMs, uses: 0, revoked: false };
      tokens.set(token, issued);
      issuedTokens.push(token);
      return answer('gettoken', { errcode: 0, errmsg: 'ok', access_token: token, expires_in: expiresIn }, issued.number);
    }

    const kind: FakeCallKind | undefined =
      url.pathname === '/cgi-bin/chatdata/async_program_task'
        ? 'async_program_task'
        : url.pathname === '/cgi-bin/chatdata/async_program_result'
          ? 'async_program_result'
          : undefined;
    if (request.method !== 'POST' || !kind) {
      sendJson(response, 404, { errcode: 404, errmsg: 'not found' });
      return;
    }
    const body = (await readBody(request)).toString('utf8');
    const token = url.searchParams.get('access_token');
    if (!token) return error(kind, 41001);
    const issued = tokens.get(token);
    if (!issued || issued.revoked) return error(kind, 40014);
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
      const created = emulator.createProgramTask(createRequest);
      const { errcode, errmsg, jobid } = created;
      return answer(kind, { errcode, errmsg: errmsg ?? '', ...(jobid ? { jobid } : {}) }, issued.number);
    }
    // async_program_result: the public API documents no fail_list; the fake sends one only if asked to.
    const { fail_list: failList, ...result } = emulator.getProgramTaskResult({ jobid: parsed.jobid });
    const withFailList = options.resultFailList && failList?.length ? { fail_list: failList } : {};
    return answer(kind, { ...result, errmsg: result.errmsg ?? '', ...withFailList }, issued.number);
  });

  const url = await listen(server, 0, '127.0.0.1');
  return {
    url,
    emulator,
    events,
    issuedTokens,
    taskBodies,
    count: (kind, errcode) => events.filter((event) => event.kind === kind && (errcode === undefined || event.errcode === errcode)).length,
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
