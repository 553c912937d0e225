/**
 * Issue 12, unit level: the credentials file's checks, the corp gate, the environment checks, and the
 * call budget of token requests (counted, per corp and per suite, no corp starving another), against
 * the fake WeCom API on loopback.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encrypt, getSignature } from '@wecom/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCallBudget } from '../../lib/budget/memoryBudget.js';
import { SuiteCallbackHandler } from '../../lib/corps/callback.js';
import { admitSingleCorp, CorpDirectory } from '../../lib/corps/directory.js';
import { LocalCorpStore, readCorpsFile } from '../../lib/corps/localStore.js';
import { CorpNotServedError, CredentialStoreError } from '../../lib/corps/port.js';
import { TokenBudgetSpentError } from '../../lib/corps/tokens.js';
import { checkLocalEnv } from '../../lib/local/env.js';
import { DOC_EXAMPLE_REQUEST } from '../../lib/protocol/examples.js';
import { ZONE_API } from '../../lib/protocol/zone.js';
import { ConfigurationError } from '../../lib/shared/env.js';
import { checkZoneTransportEnv, zoneAccess } from '../../lib/wiring/zone.js';
import { AccessTokenCache } from '../../lib/zone/wecom/accessToken.js';
import { type FakeWecomApi, startFakeWecomApi } from '../support/fakeWecomApi.js';
import { recordingLogger } from '../support/fixtures.js';

const KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

describe('the credentials file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'corps-file-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, value: unknown, mode = 0o600) => {
    const path = join(dir, name);
    writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value), { mode });
    chmodSync(path, mode);
    return path;
  };

  it('names the wrong field, never the secret', () => {
    const path = write('bad.json', {
      corps: {
        ww1: { kind: 'self_built', secret: 'TOP-SECRET-VALUE-1' },
        ww2: { kind: 'third_party', permanent_code: 'TOP-SECRET-VALUE-2' },
        ww3: { kind: 'custom_app', secret: '' },
      },
      suites: {
        s1: { kind: 'third_party', suite_secret: 'TOP-SECRET-VALUE-3', token: 't', encoding_aes_key: 'short' },
      },
    });
    const error = (() => {
      try {
        readCorpsFile(path);
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('accepted');
    })();
    expect(error).toBeInstanceOf(CredentialStoreError);
    expect(error.message).toContain('corps.ww2.suite_id');
    expect(error.message).toContain('corps.ww3.secret');
    expect(error.message).toContain('suites.s1.encoding_aes_key');
    expect(error.message).not.toMatch(/TOP-SECRET-VALUE/);
  });

  it('accepts the documented example (examples/corps.json), copied owner-only', () => {
    const example = JSON.parse(readFileSync('examples/corps.json', 'utf8'));
    const file = readCorpsFile(write('example.json', example));
    expect(Object.keys(file.corps)).toHaveLength(2);
    expect(Object.values(file.suites).map((suite) => suite.kind)).toEqual(['third_party', 'custom_app']);
  });

  it('refuses a file others may read, and one that is not JSON', () => {
    expect(() => readCorpsFile(write('open.json', { corps: {} }, 0o644))).toThrow(/chmod 600/);
    expect(() => readCorpsFile(write('junk.json', 'secret-looking{'))).toThrow(/not valid JSON/);
    expect(() => readCorpsFile(join(dir, 'missing.json'))).toThrow(/ENOENT/);
  });

  it('keeps what callbacks bring in a 0600 file that wins over the credentials file', async () => {
    const file = readCorpsFile(write('ok.json', { corps: { ww1: { kind: 'self_built', secret: 's1' } } }));
    const store = new LocalCorpStore({ file, dataDir: dir });
    await store.putCorp('ww1', { kind: 'self_built', status: 'deauthorised', deauthorised_at: 'now' });
    const again = new LocalCorpStore({ file, dataDir: dir });
    expect(await again.getCorp('ww1')).toMatchObject({ status: 'deauthorised' });
    expect(await again.listCorpIds()).toEqual(['ww1']);
  });
});

describe('admitting a corp', () => {
  it('one corp (WECOM_CORP_ID): no corp, the corp or the default corp id; any other is unknown, by name', () => {
    expect(admitSingleCorp('ww1', 'default', undefined)).toBe('default');
    expect(admitSingleCorp('ww1', 'default', 'ww1')).toBe('ww1');
    expect(() => admitSingleCorp('ww1', 'default', 'ww2')).toThrow(/corp ww2 is not served/);
  });

  it('many corps: corp_id required unless there is only one', async () => {
    const directory = (corps: Record<string, unknown>) =>
      new CorpDirectory({
        store: new LocalCorpStore({ file: readCorpsFileFrom({ corps }) }),
        transport: 'relay',
        defaults: { relayProgramId: 'relay' },
        baseUrl: 'http://127.0.0.1:1',
        timeoutMs: 1000,
        cache: new AccessTokenCache(),
        logger: recordingLogger(),
      });
    expect(await directory({ ww1: { kind: 'self_built', secret: 's' } }).admit(undefined)).toBe('ww1');
    const two = directory({ ww1: { kind: 'self_built', secret: 's' }, ww2: { kind: 'self_built', secret: 's' } });
    await expect(two.admit(undefined)).rejects.toMatchObject({ code: 'corp_required' });
    await expect(two.admit('ww3')).rejects.toBeInstanceOf(CorpNotServedError);
  });
});

function readCorpsFileFrom(value: unknown) {
  const dir = mkdtempSync(join(tmpdir(), 'corps-one-'));
  const path = join(dir, 'corps.json');
  writeFileSync(path, JSON.stringify(value), { mode: 0o600 });
  try {
    return readCorpsFile(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the environment of many corps', () => {
  const base = { ZONE_TRANSPORT: 'relay', WECOM_RELAY_PROGRAM_ID: 'relay' };
  it('npm start refuses a credentials file it would not read (the emulator, the bridge)', () => {
    expect(() => checkLocalEnv({ WECOM_CORPS_FILE: 'corps.json' })).toThrow(
      /WECOM_CORPS_FILE: only read with ZONE_TRANSPORT=relay or wecom \(it is emulator\)/,
    );
  });

  it('takes a prefix on AWS and a file with npm start, not both, and not beside WECOM_CORP_ID', () => {
    expect(checkZoneTransportEnv({ ...base, WECOM_CORPS_PARAM_PREFIX: '/wecom-zone-tasks/prod' }).corps).toBeDefined();
    expect(() => checkZoneTransportEnv({ ...base, WECOM_CORPS_FILE: 'corps.json' })).toThrow(
      /WECOM_CORPS_FILE: npm start only/,
    );
    expect(checkZoneTransportEnv({ ...base, WECOM_CORPS_FILE: 'corps.json' }, 'local').corps).toBeDefined();
    expect(() =>
      checkZoneTransportEnv({ ...base, WECOM_CORPS_PARAM_PREFIX: '/p', WECOM_CORPS_FILE: 'c.json' }, 'local'),
    ).toThrow(/exactly one of WECOM_CORPS_PARAM_PREFIX/);
    expect(() => checkZoneTransportEnv({ ...base, WECOM_CORPS_PARAM_PREFIX: '/p', WECOM_CORP_ID: 'ww1' })).toThrow(
      /WECOM_CORP_ID: one corp or many/,
    );
    expect(() =>
      checkZoneTransportEnv({ ZONE_TRANSPORT: 'bridge', ZONE_BRIDGE_URL: 'https://b', WECOM_CORPS_PARAM_PREFIX: '/p' }),
    ).toThrow(/only read with ZONE_TRANSPORT=relay or wecom \(it is bridge\)/);
    expect(() => checkZoneTransportEnv({ ZONE_TRANSPORT: 'relay', WECOM_CORPS_PARAM_PREFIX: '/p' })).toThrow(
      ConfigurationError,
    );
  });
});

describe('token requests and the call budget', () => {
  let fake: FakeWecomApi;
  const corps = { ww1: 'secret-1', ww2: 'secret-2' };
  beforeAll(async () => {
    fake = await startFakeWecomApi({
      corps,
      suites: { suite1: { kind: 'third_party', secret: 'suite-secret', token: 'tok', encodingAesKey: KEY } },
      zoneProgramId: 'ZP',
      zoneAbilityId: 'run',
    });
  });
  afterAll(() => fake.close());

  it('counts gettoken, get_corp_token and get_suite_token; a corp that spent its budget does not stop another', async () => {
    const budget = new MemoryCallBudget([{ seconds: 60, limit: 3 }]);
    const dir = mkdtempSync(join(tmpdir(), 'corps-budget-'));
    const store = new LocalCorpStore({
      file: readCorpsFileFrom({
        corps: { ww1: { kind: 'self_built', secret: 'secret-1' }, ww2: { kind: 'self_built', secret: 'secret-2' } },
        suites: { suite1: { kind: 'third_party', suite_secret: 'suite-secret', token: 'tok', encoding_aes_key: KEY } },
      }),
      dataDir: dir,
    });
    const cache = new AccessTokenCache();
    const directory = new CorpDirectory({
      store,
      transport: 'wecom',
      defaults: { zoneProgramId: 'ZP', zoneAbilityId: 'run' },
      baseUrl: fake.url,
      timeoutMs: 5000,
      cache,
      budget,
      logger: recordingLogger(),
    });
    const call = (corpId: string) =>
      directory.invoke(ZONE_API.createProgramTask, JSON.stringify(DOC_EXAMPLE_REQUEST), { corpId });

    // A burst of calls of one corp: one gettoken (single-flight), counted once.
    await Promise.all(Array.from({ length: 5 }, () => call('ww1')));
    const gettokens = (corp: string) => fake.corpCalls.filter((c) => c.kind === 'gettoken' && c.owner === corp).length;
    expect(gettokens('ww1')).toBe(1);
    // ww1 had 3 calls a minute; its gettoken took 1: exactly 2 remain.
    const grants = async (key: string) => {
      let granted = 0;
      while ((await budget.tryAcquire(key, Date.now())).granted) granted += 1;
      return granted;
    };
    expect(await grants('ww1')).toBe(2);
    // ww1's budget is spent: its next token request is refused before it is sent...
    cache.forgetKeys(['ww1:']);
    await expect(call('ww1')).rejects.toBeInstanceOf(TokenBudgetSpentError);
    expect(gettokens('ww1')).toBe(1);
    // ...and ww2 is served all the same, its own gettoken counted against its own budget.
    expect(JSON.parse(await call('ww2')).errcode).toBe(0);
    expect(await grants('ww2')).toBe(2);

    // A third-party corp: get_suite_token counts against the suite, get_corp_token against the corp.
    await store.putTicket('suite1', fake.issueTicket('suite1'));
    const installed = await directory.suites.permanentCode('suite1', fake.issueAuthCode('suite1', 'ww3'));
    expect(installed.corpId).toBe('ww3');
    await store.putCorp('ww3', {
      kind: 'third_party',
      status: 'active',
      suite_id: 'suite1',
      permanent_code: installed.permanentCode,
    });
    await Promise.all(Array.from({ length: 5 }, () => call('ww3')));
    const kinds = fake.corpCalls.map((c) => c.kind);
    expect(kinds.filter((kind) => kind === 'get_suite_token')).toHaveLength(1);
    expect(kinds.filter((kind) => kind === 'get_corp_token')).toHaveLength(1);
    expect(await grants('ww3')).toBe(2);
    // The suite's own calls: get_permanent_code and one get_suite_token (the exchange and get_corp_token
    // shared the cached suite token): 1 of its 3 left.
    expect(await grants('suite.suite1')).toBe(1);

    rmSync(dir, { recursive: true, force: true });
  });
});

describe('one corp (WECOM_CORP_ID): a directory of one', () => {
  it('counts its gettoken against the budget its tasks use, and admits only its own corp id', async () => {
    const fake = await startFakeWecomApi({
      corpId: 'ww1',
      corpSecret: 'one-secret',
      zoneProgramId: 'ZP',
      zoneAbilityId: 'run',
    });
    const dir = mkdtempSync(join(tmpdir(), 'one-corp-'));
    try {
      const secretFile = join(dir, 'secret');
      writeFileSync(secretFile, 'one-secret', { mode: 0o600 });
      const budget = new MemoryCallBudget([{ seconds: 60, limit: 2 }]);
      const access = zoneAccess(
        {
          ZONE_TRANSPORT: 'wecom',
          WECOM_CORP_ID: 'ww1',
          WECOM_CORP_SECRET_FILE: secretFile,
          WECOM_ZONE_PROGRAM_ID: 'ZP',
          WECOM_ZONE_ABILITY_ID: 'run',
          WECOM_API_BASE_URL: fake.url,
        },
        recordingLogger(),
        { budget },
        'local',
      );
      expect(await access.corps?.admit(undefined)).toBe('default');
      await expect(access.corps?.admit('ww2')).rejects.toMatchObject({ code: 'unknown_corp' });
      const created = JSON.parse(
        await access.transport.invoke(ZONE_API.createProgramTask, JSON.stringify(DOC_EXAMPLE_REQUEST)),
      );
      expect(created.errcode).toBe(0);
      expect(fake.count('gettoken')).toBe(1);
      // The gettoken took one of the corp's two calls (the create itself is taken by submitTask).
      expect((await budget.tryAcquire('default', Date.now())).granted).toBe(true);
      expect((await budget.tryAcquire('default', Date.now())).granted).toBe(false);
      // Spent: a token that must be fetched again is refused before it is requested.
      fake.revokeTokens();
      await expect(
        access.transport.invoke(ZONE_API.createProgramTask, JSON.stringify(DOC_EXAMPLE_REQUEST)),
      ).rejects.toBeInstanceOf(TokenBudgetSpentError);
      expect(fake.count('gettoken')).toBe(1);
    } finally {
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a corp's own relay program", () => {
  it('overrides the stage default; the other corps use the default', async () => {
    const fake = await startFakeWecomApi({ corps: { ww1: 'secret-1', ww2: 'secret-2' } });
    try {
      const directory = new CorpDirectory({
        store: new LocalCorpStore({
          file: readCorpsFileFrom({
            corps: {
              ww1: { kind: 'self_built', secret: 'secret-1' },
              ww2: {
                kind: 'self_built',
                secret: 'secret-2',
                relay_program_id: 'RELAY_OF_WW2',
                relay_create_ability_id: 'create_ww2',
              },
            },
          }),
        }),
        transport: 'relay',
        defaults: { relayProgramId: 'STAGE_RELAY' },
        baseUrl: fake.url,
        timeoutMs: 5000,
        cache: new AccessTokenCache(),
        logger: recordingLogger(),
      });
      for (const corpId of ['ww1', 'ww2']) {
        // The fake has no relay program: it records the call, then answers 800001 (program not found).
        await expect(
          directory.invoke(ZONE_API.createProgramTask, JSON.stringify(DOC_EXAMPLE_REQUEST), { corpId }),
        ).rejects.toThrow(/800001/);
      }
      expect(
        fake.syncCallBodies.map((body) => [
          (body as Record<string, string>).program_id,
          (body as Record<string, string>).ability_id,
        ]),
      ).toEqual([
        ['STAGE_RELAY', 'invoke_create_program_task'],
        ['RELAY_OF_WW2', 'create_ww2'],
      ]);
    } finally {
      await fake.close();
    }
  });
});

describe('the suite callback, request by request', () => {
  const suite = { kind: 'third_party', suite_secret: 's', token: 'tok', encoding_aes_key: KEY };
  const handler = () => {
    const store = new LocalCorpStore({ file: readCorpsFileFrom({ suites: { s1: suite } }) });
    const directory = new CorpDirectory({
      store,
      transport: 'relay',
      defaults: { relayProgramId: 'r' },
      baseUrl: 'http://127.0.0.1:1',
      timeoutMs: 1000,
      cache: new AccessTokenCache(),
      logger: recordingLogger(),
    });
    return { store, callbacks: new SuiteCallbackHandler({ directory, logger: recordingLogger() }) };
  };
  const post = (fields: string, options: { receiveId?: string; envelope?: (encrypted: string) => string } = {}) => {
    const encrypted = encrypt(KEY, `<xml>${fields}</xml>`, options.receiveId ?? 's1');
    const timestamp = String(Math.floor(Date.now() / 1000));
    return {
      method: 'POST',
      suiteId: 's1',
      query: { msg_signature: getSignature('tok', timestamp, 'n', encrypted), timestamp, nonce: 'n' },
      body: options.envelope?.(encrypted) ?? `<xml><Encrypt><![CDATA[${encrypted}]]></Encrypt></xml>`,
    };
  };
  const ticket = (value: string, at: number) =>
    post(
      `<SuiteId>s1</SuiteId><InfoType>suite_ticket</InfoType><TimeStamp>${at}</TimeStamp><SuiteTicket><![CDATA[${value}]]></SuiteTicket>`,
    );

  it('keeps the newest suite_ticket: a late or repeated push changes nothing', async () => {
    const { store, callbacks } = handler();
    expect(await callbacks.handle(ticket('T2', 200))).toEqual({ statusCode: 200, body: 'success' });
    expect(await callbacks.handle(ticket('T1', 100))).toEqual({ statusCode: 200, body: 'success' });
    expect(await callbacks.handle(ticket('T2-again', 200))).toEqual({ statusCode: 200, body: 'success' });
    expect(await store.getTicket('s1')).toEqual({ ticket: 'T2', timestamp: 200 });
  });

  it('refuses what is not WeCom’s, touching nothing; acknowledges events it does not handle', async () => {
    const { store, callbacks } = handler();
    const forged = ticket('T9', 900);
    forged.query.msg_signature = '0'.repeat(40);
    expect((await callbacks.handle(forged)).statusCode).toBe(401);
    expect((await callbacks.handle({ ...ticket('T9', 900), body: 'not xml' })).statusCode).toBe(400);
    const { msg_signature: _m, ...unsigned } = ticket('T9', 900).query;
    expect(await callbacks.handle({ ...ticket('T9', 900), query: unsigned })).toEqual({
      statusCode: 400,
      body: 'msg_signature: required',
    });
    expect((await callbacks.handle({ ...ticket('T9', 900), suiteId: 'other' })).statusCode).toBe(404);
    const elsewhere = post(
      '<SuiteId>s2</SuiteId><InfoType>suite_ticket</InfoType><TimeStamp>1</TimeStamp><SuiteTicket>x</SuiteTicket>',
    );
    expect((await callbacks.handle(elsewhere)).statusCode).toBe(400);
    expect(await store.getTicket('s1')).toBeUndefined();
    const contacts = post('<SuiteId>s1</SuiteId><InfoType>change_contact</InfoType><AuthCorpId>ww1</AuthCorpId>');
    expect(await callbacks.handle(contacts)).toEqual({ statusCode: 200, body: 'success' });
  });
});
