/**
 * The WeCom HTTPS transport: the access-token cache on its own, then the transport against a local
 * fake of WeCom's API (test/support/fakeWecomApi.ts) over real HTTP, on an injected clock.
 */

import { createServer } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SDK_CODE } from '../../lib/protocol/errcodes.js';
import { ZONE_API } from '../../lib/protocol/zone.js';
import { ConfigurationError } from '../../lib/shared/env.js';
import { close, listen, sendJson } from '../../lib/shared/nodeHttp.js';
import { zoneClient } from '../../lib/zone/client.js';
import { ZoneConfigurationError, ZoneTransportError } from '../../lib/zone/errors.js';
import { AccessTokenCache, type IssuedToken, tokenCacheKey } from '../../lib/zone/wecom/accessToken.js';
import { WecomEnvSchema, wecomTransportFromEnv } from '../../lib/zone/wecom/config.js';
import { WecomCredentialsError, WecomHttpsTransport } from '../../lib/zone/wecom/httpsTransport.js';
import { SDK_CODE_CREDENTIALS } from '../../lib/zone/wecom/protocol.js';
import { type SecretSource, singleFlight } from '../../lib/zone/wecom/secrets.js';
import { type FakeWecomApi, type FakeWecomApiOptions, startFakeWecomApi } from '../support/fakeWecomApi.js';
import { DOC_EXAMPLE_REQUEST, recordingLogger, SECRETS_AND_CHAT } from '../support/fixtures.js';

const CORP_ID = 'ww-fake-corp';
const CORP_SECRET = 'corp-secret-7f3a9c1e-do-not-leak';
const ZONE_PROGRAM = { programId: 'ZONE_PROGRAM', abilityId: 'run_task' };
const RESULT_REQUEST = (jobid: string) => JSON.stringify({ jobid });

function manualClock(start = 1_800_000_000_000) {
  let time = start;
  return {
    now: () => time,
    advanceSeconds(seconds: number) {
      time += seconds * 1000;
    },
  };
}

const deferred = <T>() => {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

describe('AccessTokenCache', () => {
  it('reuses a token until refreshEarlySeconds before it expires, then refreshes', async () => {
    const clock = manualClock();
    const cache = new AccessTokenCache({ refreshEarlySeconds: 300, now: clock.now });
    let fetched = 0;
    const fetchToken = async (): Promise<IssuedToken> => ({ token: `token-${++fetched}`, expiresInSeconds: 7200 });

    expect(await cache.get('k', fetchToken)).toBe('token-1');
    clock.advanceSeconds(6899);
    expect(await cache.get('k', fetchToken)).toBe('token-1');
    clock.advanceSeconds(2); // 6901 s: inside the 300 s margin
    expect(await cache.get('k', fetchToken)).toBe('token-2');
    expect(fetched).toBe(2);
  });

  it('caps the margin at half the lifetime, so a short-lived token is not refetched on every call', async () => {
    const clock = manualClock();
    const cache = new AccessTokenCache({ refreshEarlySeconds: 300, now: clock.now });
    let fetched = 0;
    const fetchToken = async (): Promise<IssuedToken> => ({ token: `token-${++fetched}`, expiresInSeconds: 10 });
    await cache.get('k', fetchToken);
    clock.advanceSeconds(4.9);
    await cache.get('k', fetchToken);
    expect(fetched).toBe(1);
    clock.advanceSeconds(0.2);
    await cache.get('k', fetchToken);
    expect(fetched).toBe(2);
  });

  it('with a margin of 0, uses a token up to its expiry', async () => {
    const clock = manualClock();
    const cache = new AccessTokenCache({ refreshEarlySeconds: 0, now: clock.now });
    let fetched = 0;
    const fetchToken = async (): Promise<IssuedToken> => ({ token: `token-${++fetched}`, expiresInSeconds: 2 });
    await cache.get('k', fetchToken);
    clock.advanceSeconds(1.999);
    await cache.get('k', fetchToken);
    expect(fetched).toBe(1);
    clock.advanceSeconds(0.001);
    await cache.get('k', fetchToken);
    expect(fetched).toBe(2);
  });

  it('shares one refresh between 20 concurrent callers', async () => {
    const cache = new AccessTokenCache();
    const pending = deferred<IssuedToken>();
    let fetched = 0;
    const fetchToken = () => {
      fetched += 1;
      return pending.promise;
    };
    const callers = Array.from({ length: 20 }, () => cache.get('k', fetchToken));
    pending.resolve({ token: 'shared', expiresInSeconds: 7200 });
    expect(await Promise.all(callers)).toEqual(Array(20).fill('shared'));
    expect(fetched).toBe(1);
  });

  it('keeps tokens of different corps and secrets apart', async () => {
    const cache = new AccessTokenCache();
    const a = tokenCacheKey('corp-a', 'secret-1');
    const b = tokenCacheKey('corp-a', 'secret-2');
    const c = tokenCacheKey('corp-b', 'secret-1');
    expect(new Set([a, b, c]).size).toBe(3);
    expect(a).not.toContain('secret-1');
    await cache.get(a, async () => ({ token: 'A', expiresInSeconds: 7200 }));
    await cache.get(b, async () => ({ token: 'B', expiresInSeconds: 7200 }));
    expect(await cache.get(a, async () => ({ token: 'never', expiresInSeconds: 7200 }))).toBe('A');
    expect(await cache.get(b, async () => ({ token: 'never', expiresInSeconds: 7200 }))).toBe('B');
  });

  it('falls back to the token in hand when an early refresh fails, and does not cache the failure', async () => {
    const clock = manualClock();
    const cache = new AccessTokenCache({ refreshEarlySeconds: 300, now: clock.now });
    await cache.get('k', async () => ({ token: 'old', expiresInSeconds: 7200 }));
    clock.advanceSeconds(7000);
    expect(await cache.get('k', () => Promise.reject(new Error('busy')))).toBe('old');
    expect(await cache.get('k', async () => ({ token: 'new', expiresInSeconds: 7200 }))).toBe('new');
    clock.advanceSeconds(7200);
    await expect(cache.get('k', () => Promise.reject(new Error('busy')))).rejects.toThrow('busy');
  });

  it('invalidates a refused token only while it is the cached one', async () => {
    const cache = new AccessTokenCache();
    let fetched = 0;
    const fetchToken = async (): Promise<IssuedToken> => ({ token: `token-${++fetched}`, expiresInSeconds: 7200 });
    await cache.get('k', fetchToken);
    expect(cache.invalidate('k', 'token-1')).toBe(true);
    expect(await cache.get('k', fetchToken)).toBe('token-2');
    // A late refusal of the old token must not throw away the new one.
    expect(cache.invalidate('k', 'token-1')).toBe(false);
    expect(await cache.get('k', fetchToken)).toBe('token-2');
    expect(fetched).toBe(2);
  });
});

describe('WecomHttpsTransport against the fake WeCom API', () => {
  let fake: FakeWecomApi;
  let clock: ReturnType<typeof manualClock>;
  let secretReads: { plain: number; forced: number };
  let log: ReturnType<typeof recordingLogger>;

  async function start(options: FakeWecomApiOptions = {}): Promise<FakeWecomApi> {
    fake = await startFakeWecomApi({ corpId: CORP_ID, corpSecret: CORP_SECRET, now: clock.now, ...options });
    return fake;
  }

  function countingSecret(value: () => string = () => CORP_SECRET, forcedValue = value): SecretSource {
    return singleFlight('test:corp-secret', async (options) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (options?.forceFetch) {
        secretReads.forced += 1;
        return forcedValue();
      }
      secretReads.plain += 1;
      return value();
    });
  }

  function transport(options: { refreshEarlySeconds?: number; corpSecret?: SecretSource; baseUrl?: string } = {}) {
    return new WecomHttpsTransport({
      corpId: CORP_ID,
      corpSecret: options.corpSecret ?? countingSecret(),
      zoneProgram: ZONE_PROGRAM,
      baseUrl: options.baseUrl ?? fake.url,
      timeoutMs: 2000,
      tokenCache: new AccessTokenCache({ refreshEarlySeconds: options.refreshEarlySeconds ?? 300, now: clock.now }),
      logger: log,
    });
  }

  /** A jobid of a finished task (the sample programs answer at once with programLatencyMs 0). */
  async function finishedJob(zone: WecomHttpsTransport): Promise<string> {
    const created = await zoneClient(zone).createProgramTask({ ...DOC_EXAMPLE_REQUEST, escape_type: 0 });
    expect(created.errcode).toBe(0);
    return created.jobid ?? '';
  }

  beforeEach(() => {
    clock = manualClock();
    secretReads = { plain: 0, forced: 0 };
    log = recordingLogger();
  });
  afterEach(async () => {
    await fake?.close();
  });

  describe('the mapping onto the zone port', () => {
    it('carries create_program_task as request_data to the configured zone program, and maps the answer back', async () => {
      await start();
      const zone = transport();
      const requestJson = JSON.stringify({ ...DOC_EXAMPLE_REQUEST, escape_type: 0 });
      const created = JSON.parse(await zone.invoke(ZONE_API.createProgramTask, requestJson));
      expect(created).toEqual({ errcode: 0, errmsg: 'ok', jobid: expect.any(String), fail_list: [] });
      expect(fake.taskBodies).toEqual([
        { program_id: 'ZONE_PROGRAM', ability_id: 'run_task', request_data: requestJson },
      ]);

      const result = await zoneClient(zone).getProgramTaskResult(created.jobid);
      expect(result).toEqual({
        errcode: 0,
        errmsg: 'ok',
        fail_list: [],
        response_errcode: 0,
        response_data: expect.any(String),
      });
      expect(JSON.parse(result.response_data ?? '')).toEqual({ avg_reply_time: 2, negative_feedback_cnt: 0 });
      expect(fake.count('gettoken')).toBe(1);
    });

    it('passes WeCom refusals through as zone answers (the task is refused, not the transport)', async () => {
      await start({ zoneProgramId: 'SOME_OTHER_PROGRAM' });
      const created = await zoneClient(transport()).createProgramTask({ ...DOC_EXAMPLE_REQUEST, escape_type: 0 });
      expect(created).toMatchObject({ errcode: 800001, fail_list: [] });
      expect(created.jobid).toBeUndefined();
    });

    it('answers fail_list [] when async_program_result has none, and passes one through when it has', async () => {
      const request = {
        ...DOC_EXAMPLE_REQUEST,
        escape_type: 0 as const,
        msg_list: [...DOC_EXAMPLE_REQUEST.msg_list, { msgid: 'MSGID9', encrypt_info: { secret_key: 'nope' } }],
      };
      await start();
      let zone = zoneClient(transport());
      let { jobid } = await zone.createProgramTask(request);
      expect((await zone.getProgramTaskResult(jobid ?? '')).fail_list).toEqual([]);
      await fake.close();

      await start({ resultFailList: true });
      zone = zoneClient(transport());
      ({ jobid } = await zone.createProgramTask(request));
      expect((await zone.getProgramTaskResult(jobid ?? '')).fail_list).toEqual([
        { errcode: 710601, errmsg: 'msgid not found', msgid: 'MSGID9' },
      ]);
    });

    it('maps the pending answer and an unknown jobid unchanged', async () => {
      await start({ programLatencyMs: 60_000 });
      const zone = zoneClient(transport());
      const { jobid } = await zone.createProgramTask({ ...DOC_EXAMPLE_REQUEST, escape_type: 0 });
      expect(await zone.getProgramTaskResult(jobid ?? '')).toMatchObject({ errcode: 710642, fail_list: [] });
      expect(await zone.getProgramTaskResult('no-such-job')).toMatchObject({ errcode: 701151, fail_list: [] });
    });

    it('refuses unknown APIs and requests that are not JSON, without calling WeCom', async () => {
      await start();
      const zone = transport();
      await expect(zone.invoke('program_async_job_call_back', '{}')).rejects.toMatchObject({
        sdkCode: SDK_CODE.unknownApi,
      });
      await expect(zone.invoke(ZONE_API.createProgramTask, '{not json')).rejects.toMatchObject({
        sdkCode: SDK_CODE.invalidJson,
      });
      await expect(zone.invoke(ZONE_API.getProgramTaskResult, '{}')).rejects.toMatchObject({
        sdkCode: SDK_CODE.invalidJson,
      });
      expect(fake.events).toEqual([]);
    });
  });

  describe('the token cache', () => {
    it('reuses one token for many calls', async () => {
      await start();
      const zone = transport();
      const jobid = await finishedJob(zone);
      for (let i = 0; i < 5; i++) await zone.invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST(jobid));
      expect(fake.count('gettoken')).toBe(1);
      expect(fake.count('async_program_result', 0)).toBe(5);
    });

    it('refreshes before expiry (5 min early by default), without any refusal', async () => {
      await start({ expiresInSeconds: 7200 });
      const zone = transport();
      const jobid = await finishedJob(zone);
      clock.advanceSeconds(6899);
      await zone.invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST(jobid));
      expect(fake.count('gettoken')).toBe(1);
      clock.advanceSeconds(2);
      await zone.invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST(jobid));
      expect(fake.count('gettoken')).toBe(2);
      expect(fake.events.filter((event) => event.errcode !== 0)).toEqual([]);
      // The call after the refresh used the new token.
      expect(fake.events.at(-1)).toMatchObject({ kind: 'async_program_result', tokenNumber: 2 });
    });

    it('keeps using a valid token when the early refresh fails', async () => {
      await start();
      const zone = transport();
      const jobid = await finishedJob(zone);
      clock.advanceSeconds(7000);
      fake.failGettoken(-1);
      const answer = JSON.parse(await zone.invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST(jobid)));
      expect(answer.errcode).toBe(0);
      expect(fake.events.slice(-2)).toEqual([
        { kind: 'gettoken', errcode: -1, tokenNumber: 0 },
        { kind: 'async_program_result', errcode: 0, tokenNumber: 1 },
      ]);
    });

    it('fetches one token (and reads the secret once) for 20 concurrent calls on a cold cache', async () => {
      await start({ gettokenDelayMs: 50 });
      const zone = transport();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => zone.invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST('no-such-job'))),
      );
      expect(answers.map((answer) => JSON.parse(answer).errcode)).toEqual(Array(20).fill(701151));
      expect(fake.count('gettoken')).toBe(1);
      expect(secretReads.plain).toBe(1);
      expect(zone.stats.tokenRequests).toBe(1);
    });
  });

  describe('a refused token', () => {
    it.each([
      [42001, 'expired'],
      [40014, 'invalid'],
      [41001, 'missing'],
    ])('refreshes once on %i (%s) and replays the call', async (errcode) => {
      await start();
      const zone = transport();
      const jobid = await finishedJob(zone);
      fake.refuseChatdata(errcode);
      const answer = JSON.parse(await zone.invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST(jobid)));
      expect(answer).toMatchObject({ errcode: 0, response_errcode: 0 });
      expect(fake.events.slice(-3)).toEqual([
        { kind: 'async_program_result', errcode, tokenNumber: 1 },
        { kind: 'gettoken', errcode: 0, tokenNumber: 2 },
        { kind: 'async_program_result', errcode: 0, tokenNumber: 2 },
      ]);
      expect(zone.stats.tokenRefusals).toBe(1);
    });

    it('recovers when WeCom ends a token before the expiry it announced (42001), creating one task', async () => {
      await start();
      const zone = transport();
      await zone.invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST('warm-up'));
      fake.expireTokens();
      const created = await zoneClient(zone).createProgramTask({ ...DOC_EXAMPLE_REQUEST, escape_type: 0 });
      expect(created.errcode).toBe(0);
      expect(fake.count('async_program_task', 42001)).toBe(1);
      expect(fake.emulator.jobCount).toBe(1);
    });

    it('refreshes once for 20 concurrent calls refused with the same token', async () => {
      await start({ gettokenDelayMs: 20 });
      const zone = transport();
      const jobid = await finishedJob(zone);
      fake.expireTokens();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => zone.invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST(jobid))),
      );
      expect(answers.map((answer) => JSON.parse(answer).errcode)).toEqual(Array(20).fill(0));
      expect(fake.count('async_program_result', 42001)).toBe(20);
      expect(fake.count('gettoken')).toBe(2);
    });

    it('does not loop when the fresh token is refused too: one refresh, one replay, a transport error', async () => {
      await start();
      const zone = transport();
      fake.refuseChatdata(42001, Number.POSITIVE_INFINITY);
      const failure = await zone
        .invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST('job'))
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ZoneTransportError);
      expect(failure).toBeInstanceOf(WecomCredentialsError);
      expect(failure).toMatchObject({ sdkCode: SDK_CODE_CREDENTIALS, errcode: 42001 });
      expect(fake.count('async_program_result')).toBe(2);
      expect(fake.count('gettoken')).toBe(2);
      // Still bounded on the next call.
      await expect(zone.invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST('job'))).rejects.toBeInstanceOf(
        ZoneTransportError,
      );
      expect(fake.count('async_program_result')).toBe(4);
      expect(fake.count('gettoken')).toBe(4);
    });
  });

  it.each([
    [60020, 'an untrusted IP'],
    [48002, 'a missing API permission'],
  ])('%i (%s) is a transport error, not an answer about the task', async (errcode) => {
    await start();
    const zone = transport();
    fake.refuseChatdata(errcode);
    // A configuration error (the app's permission or trusted IPs): still a transport failure to the poller.
    const failure = zone.invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST('job'));
    await expect(failure).rejects.toBeInstanceOf(ZoneConfigurationError);
    await expect(failure).rejects.toMatchObject({
      sdkCode: SDK_CODE_CREDENTIALS,
      errcode,
      wecomErrcode: errcode,
      reach: 'not_sent',
    });
    expect(fake.count('gettoken')).toBe(1);
    expect(fake.count('async_program_result')).toBe(1);
  });

  describe('gettoken failures', () => {
    it('a wrong secret is a transport error with WeCom errcode 40001 (re-read once, no loop)', async () => {
      await start();
      const zone = transport({ corpSecret: countingSecret(() => 'wrong-secret') });
      const failure = await zone
        .invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST('job'))
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ZoneConfigurationError);
      expect(failure).toMatchObject({
        sdkCode: SDK_CODE_CREDENTIALS,
        errcode: 40001,
        message: expect.stringMatching(/corp secret is wrong/),
      });
      expect(secretReads).toEqual({ plain: 1, forced: 1 });
      expect(fake.count('gettoken')).toBe(1);
      expect(fake.count('async_program_result')).toBe(0);
    });

    it('follows a rotated secret: refused with the cached value, re-read past the cache, retried once', async () => {
      await start();
      fake.setCorpSecret('rotated-secret');
      const zone = transport({
        corpSecret: countingSecret(
          () => CORP_SECRET,
          () => 'rotated-secret',
        ),
      });
      const answer = JSON.parse(await zone.invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST('job')));
      expect(answer.errcode).toBe(701151);
      expect(fake.events.map((event) => [event.kind, event.errcode])).toEqual([
        ['gettoken', 40001],
        ['gettoken', 0],
        ['async_program_result', 701151],
      ]);
      expect(secretReads.forced).toBe(1);
    });

    it.each([
      ['busy (-1)', (api: FakeWecomApi) => api.failGettoken(-1), SDK_CODE.networkFailure],
      ['HTTP 502', (api: FakeWecomApi) => api.breakGettoken('http502'), SDK_CODE.badHttpStatus],
      ['a dropped connection', (api: FakeWecomApi) => api.breakGettoken('drop'), SDK_CODE.networkFailure],
    ])('%s is a ZoneTransportError, and the next call tries again', async (_name, breakIt, sdkCode) => {
      await start();
      breakIt(fake);
      const zone = transport();
      const failure = zone.invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST('job'));
      await expect(failure).rejects.toMatchObject({ name: 'ZoneTransportError', sdkCode });
      await expect(failure).rejects.not.toBeInstanceOf(ZoneConfigurationError);
      expect(fake.count('async_program_result')).toBe(0);
      expect(JSON.parse(await zone.invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST('job'))).errcode).toBe(701151);
    });

    it('an unreachable API is a network failure', async () => {
      await start();
      const url = fake.url;
      await fake.close();
      await expect(transport({ baseUrl: url }).invoke(ZONE_API.createProgramTask, '{}')).rejects.toMatchObject({
        sdkCode: SDK_CODE.networkFailure,
      });
    });

    it('an unreadable secret is a transport error naming where it lives', async () => {
      await start();
      const zone = transport({
        corpSecret: { location: 'ssm:/wecom/corp-secret', get: () => Promise.reject(new Error('AccessDenied')) },
      });
      const failure = await zone
        .invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST('job'))
        .catch((error: unknown) => error);
      expect(failure).toMatchObject({ sdkCode: SDK_CODE.internal });
      expect((failure as Error).message).toContain('ssm:/wecom/corp-secret');
      expect(fake.events).toEqual([]);
    });
  });

  it('never puts the secret, a token, request_data or response_data in an error or a log line', async () => {
    const seen: string[] = [];
    const collect = async (call: () => Promise<unknown>) => {
      try {
        const value = await call();
        // A successful answer may hold response_data: it is the product, and goes back to the caller only.
        return value;
      } catch (error) {
        seen.push(String(error), (error as Error).stack ?? '', JSON.stringify(error));
        return undefined;
      }
    };
    await start();
    const zone = transport();
    const requestJson = JSON.stringify({ ...DOC_EXAMPLE_REQUEST, escape_type: 0 });
    const jobid = JSON.parse(String(await collect(() => zone.invoke(ZONE_API.createProgramTask, requestJson))))
      .jobid as string;
    const responseData = JSON.parse(
      String(await collect(() => zone.invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST(jobid)))),
    ).response_data as string;
    expect(responseData).toBeTruthy();

    fake.refuseChatdata(42001, 2);
    await collect(() => zone.invoke(ZONE_API.createProgramTask, requestJson));
    fake.expireTokens();
    await collect(() => zone.invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST(jobid)));
    fake.failGettoken(40001, 2);
    fake.expireTokens();
    await collect(() => zone.invoke(ZONE_API.createProgramTask, requestJson));
    fake.breakGettoken('http502');
    fake.expireTokens();
    await collect(() => zone.invoke(ZONE_API.getProgramTaskResult, RESULT_REQUEST(jobid)));
    await collect(() =>
      transport({ corpSecret: countingSecret(() => 'wrong-secret') }).invoke(ZONE_API.createProgramTask, requestJson),
    );

    expect(seen.length).toBeGreaterThanOrEqual(3 * 3);
    const everything = [...seen, ...log.lines].join('\n');
    expect(log.lines.length).toBeGreaterThan(0);
    for (const forbidden of [
      CORP_SECRET,
      'wrong-secret',
      ...fake.issuedTokens,
      requestJson,
      responseData,
      ...SECRETS_AND_CHAT,
    ]) {
      expect(everything).not.toContain(forbidden);
    }
  });

  it("scrubs a token or the secret out of WeCom's errmsg", async () => {
    const server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://x');
      if (url.pathname === '/cgi-bin/gettoken') {
        sendJson(response, 200, { errcode: 0, errmsg: 'ok', access_token: 'TOKEN-echoed-1234', expires_in: 7200 });
        return;
      }
      const token = url.searchParams.get('access_token');
      sendJson(response, 200, {
        errcode: 701151,
        errmsg: `jobid invalid, access_token ${token}, corpsecret ${CORP_SECRET}`,
      });
    });
    const url = await listen(server, 0, '127.0.0.1');
    try {
      const answer = await zoneClient(transport({ baseUrl: url })).getProgramTaskResult('job');
      expect(answer.errmsg).toBe('jobid invalid, access_token ***, corpsecret ***');
    } finally {
      await close(server);
    }
  });
});

describe('WECOM_* configuration', () => {
  const base = {
    WECOM_CORP_ID: CORP_ID,
    WECOM_ZONE_PROGRAM_ID: 'ZONE_PROGRAM',
    WECOM_ZONE_ABILITY_ID: 'run_task',
  };

  it('takes the secret location from SSM or Secrets Manager, with defaults', () => {
    expect(WecomEnvSchema.parse({ ...base, WECOM_CORP_SECRET_PARAM: '/wecom/corp-secret' })).toMatchObject({
      WECOM_API_BASE_URL: 'https://qyapi.weixin.qq.com',
      WECOM_TOKEN_REFRESH_EARLY_SECONDS: 300,
      WECOM_SECRET_MAX_AGE_SECONDS: 300,
      ZONE_TIMEOUT_MS: 10_000,
    });
    expect(
      WecomEnvSchema.safeParse({ ...base, WECOM_CORP_SECRET_ARN: 'arn:aws:secretsmanager:ap-east-1:1:secret:wecom' })
        .success,
    ).toBe(true);
  });

  it("reads serverless.yml's empty values as unset", () => {
    const env = WecomEnvSchema.parse({
      ...base,
      WECOM_CORP_SECRET_PARAM: '',
      WECOM_CORP_SECRET_ARN: 'arn:aws:secretsmanager:ap-east-1:1:secret:wecom',
      WECOM_CORP_SECRET_JSON_KEY: '',
      WECOM_API_BASE_URL: '',
      WECOM_TOKEN_REFRESH_EARLY_SECONDS: '',
    });
    expect(env).toMatchObject({
      WECOM_CORP_SECRET_PARAM: undefined,
      WECOM_API_BASE_URL: 'https://qyapi.weixin.qq.com',
      WECOM_TOKEN_REFRESH_EARLY_SECONDS: 300,
    });
    expect(() => wecomTransportFromEnv({ ...base, WECOM_CORP_ID: ' ', WECOM_CORP_SECRET_PARAM: '/a' })).toThrow(
      /WECOM_CORP_ID: required/,
    );
  });

  it('needs exactly one secret location, and every required variable', () => {
    expect(() => wecomTransportFromEnv(base)).toThrow(/WECOM_CORP_SECRET_PARAM: set exactly one/);
    expect(() => wecomTransportFromEnv({ ...base, WECOM_CORP_SECRET_PARAM: '/a', WECOM_CORP_SECRET_ARN: 'b' })).toThrow(
      ConfigurationError,
    );
    expect(() => wecomTransportFromEnv({ WECOM_CORP_SECRET_PARAM: '/a' })).toThrow(
      /WECOM_CORP_ID.*WECOM_ZONE_PROGRAM_ID.*WECOM_ZONE_ABILITY_ID/,
    );
    expect(() =>
      wecomTransportFromEnv({ ...base, WECOM_CORP_SECRET_PARAM: '/a', WECOM_API_BASE_URL: 'ftp://x' }),
    ).toThrow(/WECOM_API_BASE_URL/);
  });

  it('refuses a corp secret in the environment, without repeating it', () => {
    const attempt = () =>
      wecomTransportFromEnv({ ...base, WECOM_CORP_SECRET_PARAM: '/a', WECOM_CORP_SECRET: CORP_SECRET });
    expect(attempt).toThrow(/WECOM_CORP_SECRET: never put the corp secret in the environment/);
    try {
      attempt();
    } catch (error) {
      expect(String(error)).not.toContain(CORP_SECRET);
    }
  });
});
