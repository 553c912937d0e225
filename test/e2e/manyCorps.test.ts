/**
 * Issue 12 through the local stack: one deployment serving two self-built corps, a 代开发 corp and a
 * third-party corp at once, from a credentials file, against the fake WeCom API on loopback (real
 * HTTP both ways: the stack calls WeCom, WeCom's signed and encrypted callbacks call the stack).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLocalCorpStore } from '../../lib/corps/localStore.js';
import { DEAUTHORISED_TASK_ERRMSG } from '../../lib/corps/port.js';
import { type LocalStack, startLocalStack } from '../../lib/local/stack.js';
import { ERRCODE } from '../../lib/protocol/errcodes.js';
import { DOC_EXAMPLE_REQUEST } from '../../lib/protocol/examples.js';
import { suiteCallbacks } from '../../lib/wiring/suiteCallbacks.js';
import { zoneAccess } from '../../lib/wiring/zone.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { type FakeWecomApi, startFakeWecomApi } from '../support/fakeWecomApi.js';
import { recordingApiClient, recordingLogger, submitAndWait } from '../support/fixtures.js';
import { type RunningProcess, runTsProcess, startTsProcess } from '../support/processes.js';

const A = 'wwcorpa0000001';
const B = 'wwcorpb0000002';
const C = 'wwcustom000003'; // installs the 代开发 template
const D = 'wwthird0000004'; // installs the third-party app
const THIRD = 'wwsuite3p00001';
const TEMPLATE = 'dktemplate0001';
const KEY_3P = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const KEY_DK = 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut';

describe('many corps through the local stack', () => {
  let fake: FakeWecomApi;
  let stack: LocalStack;
  let dir: string;
  const logger = recordingLogger();
  /** Every API answer body, for the privacy scan. */
  const answers: string[] = [];
  let callbackUrl: (suiteId: string) => string;

  const { create, finished } = recordingApiClient(() => stack.url, answers);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'many-corps-'));
    const emulator = new ZoneEmulator({
      archive: [
        ...SAMPLE_ARCHIVE,
        // Only corp A's archive holds this message.
        { msgid: 'A-ONLY', secret_key: 'KEY-A', msgtype: 1, sender: 'a', text: 'hello', corp_id: A },
      ],
      programs: samplePrograms(300),
    });
    fake = await startFakeWecomApi({
      emulator,
      corps: { [A]: 'secret-of-corp-a', [B]: 'secret-of-corp-b' },
      suites: {
        [THIRD]: { kind: 'third_party', secret: 'suite-secret-3p', token: 'callback-token-3p', encodingAesKey: KEY_3P },
        [TEMPLATE]: {
          kind: 'custom_app',
          secret: 'suite-secret-dk',
          token: 'callback-token-dk',
          encodingAesKey: KEY_DK,
        },
      },
    });
    const file = join(dir, 'corps.json');
    writeFileSync(
      file,
      JSON.stringify({
        corps: {
          [A]: { kind: 'self_built', secret: 'secret-of-corp-a' },
          [B]: { kind: 'self_built', secret: 'secret-of-corp-b' },
        },
        suites: {
          [THIRD]: {
            kind: 'third_party',
            suite_secret: 'suite-secret-3p',
            token: 'callback-token-3p',
            encoding_aes_key: KEY_3P,
          },
          [TEMPLATE]: {
            kind: 'custom_app',
            suite_secret: 'suite-secret-dk',
            token: 'callback-token-dk',
            encoding_aes_key: KEY_DK,
          },
        },
      }),
      { mode: 0o600 },
    );
    const env = {
      ZONE_TRANSPORT: 'wecom',
      WECOM_CORPS_FILE: file,
      WECOM_ZONE_PROGRAM_ID: 'ZONE_PROGRAM',
      WECOM_ZONE_ABILITY_ID: 'run_task',
      WECOM_API_BASE_URL: fake.url,
    };
    stack = await startLocalStack({
      env,
      logger,
      dataDir: dir,
      schedule: { firstDelaySeconds: 1, minWaitSeconds: 1 },
      sweepEverySeconds: 0,
      access: ({ budget }) => {
        const localCorpStore = (path: string) => openLocalCorpStore(path, dir);
        const built = zoneAccess(env, logger, { budget, localCorpStore }, 'local');
        return { ...built, callbacks: suiteCallbacks(built, logger) };
      },
    });
    callbackUrl = (suiteId) => `${stack.url}/wecom/callback/${suiteId}`;
  });

  afterAll(async () => {
    await stack?.stop();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers WeCom URL verification and refuses a forged one', async () => {
    const { encrypt, getSignature } = await import('@wecom/crypto');
    const echostr = encrypt(KEY_3P, 'echo-1234', THIRD);
    const now = String(Math.floor(Date.now() / 1000));
    const signed = (token: string, timestamp = now) =>
      `${callbackUrl(THIRD)}?msg_signature=${getSignature(token, timestamp, 'n1', echostr)}&timestamp=${timestamp}&nonce=n1&echostr=${encodeURIComponent(echostr)}`;
    const good = await fetch(signed('callback-token-3p'));
    expect([good.status, await good.text()]).toEqual([200, 'echo-1234']);
    const forged = await fetch(signed('not-the-token'));
    expect(forged.status).toBe(401);
    expect(await forged.text()).toMatch(/msg_signature/);
    // Correctly signed, but captured long ago and replayed: refused by its age.
    const replayed = await fetch(signed('callback-token-3p', '1700000000'));
    expect(replayed.status).toBe(400);
    expect(await replayed.text()).toMatch(/timestamp/);
    expect((await fetch(`${stack.url}/wecom/callback/unknownsuite?msg_signature=x`)).status).toBe(404);
  });

  it('takes suite tickets and authorisations by callback; four corps of three kinds each get their own token', async () => {
    expect(await fake.pushSuiteTicket(callbackUrl(THIRD), THIRD)).toEqual({ status: 200, body: 'success' });
    expect(await fake.pushSuiteTicket(callbackUrl(TEMPLATE), TEMPLATE)).toEqual({ status: 200, body: 'success' });
    // A corp installs the 代开发 template, another the third-party app: create_auth → permanent code stored.
    expect(await fake.authorise(callbackUrl(TEMPLATE), TEMPLATE, C)).toEqual({ status: 200, body: 'success' });
    expect(await fake.authorise(callbackUrl(THIRD), THIRD, D)).toEqual({ status: 200, body: 'success' });
    const stored = readFileSync(join(dir, 'corp-credentials.json'), 'utf8');
    expect(statSync(join(dir, 'corp-credentials.json')).mode & 0o777).toBe(0o600);
    expect(stored).toContain(fake.permanentCodeOf(D) ?? 'missing');

    const created = await Promise.all([A, B, C, D, A, B, C, D].map((corp) => create(corp)));
    expect(created.map((answer) => answer.status)).toEqual(Array(8).fill(202));
    const ended = await Promise.all(created.map((answer) => finished(String(answer.body.jobid))));
    expect(ended.map((task) => task.status)).toEqual(Array(8).fill('SUCCEEDED'));

    // Each corp's zone calls carried that corp's own token, and no token served two corps.
    const tokensOf = new Map<string, Set<string>>();
    for (const call of fake.corpCalls.filter((call) => call.kind === 'async_program_task')) {
      tokensOf.set(call.owner, (tokensOf.get(call.owner) ?? new Set()).add(call.token ?? ''));
    }
    expect([...tokensOf.keys()].sort()).toEqual([A, B, C, D].sort());
    const all = [...tokensOf.values()].flatMap((set) => [...set]);
    expect(new Set(all).size).toBe(all.length);
    // Tokens cached per corp: one gettoken per gettoken corp, one get_corp_token for the third-party corp.
    const count = (kind: string, owner: string) =>
      fake.corpCalls.filter((call) => call.kind === kind && call.owner === owner && call.errcode === 0).length;
    expect([A, B, C].map((corp) => count('gettoken', corp))).toEqual([1, 1, 1]);
    expect(count('get_corp_token', D)).toBe(1);
    expect(count('get_suite_token', THIRD)).toBe(1);
  });

  it('a message of corp A is unknown to corp B', async () => {
    const request = { ...DOC_EXAMPLE_REQUEST, msg_list: [{ msgid: 'A-ONLY', encrypt_info: { secret_key: 'KEY-A' } }] };
    const ofA = await finished(String((await create(A, request)).body.jobid));
    const ofB = await finished(String((await create(B, request)).body.jobid));
    expect(ofA.status).toBe('SUCCEEDED');
    expect(ofB.status).toBe('FAILED');
    // Corp B's zone does not know the message: every message failed (doc 53659's 701150 family).
    expect(ofB.errcode).toBe(ERRCODE.allMessagesFailed);
  });

  it('names the corp when a request names none, an unknown one, or a deauthorised one', async () => {
    const none = await create(undefined);
    expect([none.status, none.body.error]).toEqual([400, 'corp_required']);
    const unknown = await create('wwnobody');
    expect([unknown.status, unknown.body.error]).toEqual([404, 'unknown_corp']);
    expect(String(unknown.body.message)).toContain('wwnobody');
  });

  it('a new ticket arrives and the suite token is refreshed with it', async () => {
    // Two new tickets: the one the suite token was fetched with is no longer accepted.
    await fake.pushSuiteTicket(callbackUrl(THIRD), THIRD);
    await fake.pushSuiteTicket(callbackUrl(THIRD), THIRD);
    const before = fake.corpCalls.filter((call) => call.kind === 'get_suite_token').length;
    fake.expireSuiteTokens();
    // A new corp's create_auth needs the suite token: refreshed (42009), fetched with the latest ticket.
    expect(await fake.authorise(callbackUrl(THIRD), THIRD, 'wwlatecomer01')).toEqual({ status: 200, body: 'success' });
    const suiteCalls = fake.corpCalls.filter((call) => call.kind === 'get_suite_token').slice(before);
    expect(suiteCalls.map((call) => call.errcode)).toEqual([0]);
    const task = await create('wwlatecomer01');
    expect(task.status).toBe(202);
    expect((await finished(String(task.body.jobid))).status).toBe('SUCCEEDED');
  });

  it('repeated and forged callbacks change nothing', async () => {
    const exchanges = () => fake.corpCalls.filter((call) => call.kind === 'get_permanent_code').length;
    const before = exchanges();
    const code = fake.permanentCodeOf(D);
    // A forged create_auth (wrong Token) and one addressed to another receiver: 401, nothing exchanged.
    const forged = await fake.postEvent(
      callbackUrl(THIRD),
      THIRD,
      { InfoType: 'create_auth', AuthCode: 'x'.repeat(64) },
      { token: 'forged' },
    );
    expect(forged.status).toBe(401);
    const misaddressed = await fake.postEvent(
      callbackUrl(THIRD),
      THIRD,
      { InfoType: 'cancel_auth', AuthCorpId: D },
      { receiveId: 'someone-else' },
    );
    expect(misaddressed.status).toBe(401);
    // A repeated change_auth: success, nothing changed.
    expect((await fake.changeAuth(callbackUrl(THIRD), THIRD, D)).body).toBe('success');
    expect((await fake.changeAuth(callbackUrl(THIRD), THIRD, D)).body).toBe('success');
    expect(exchanges()).toBe(before);
    expect(fake.permanentCodeOf(D)).toBe(code);
    const task = await create(D);
    expect((await finished(String(task.body.jobid))).status).toBe('SUCCEEDED');
  });

  it('reset_permanent_code replaces the 代开发 secret; tasks go on with the new one', async () => {
    const old = fake.permanentCodeOf(C);
    expect((await fake.resetPermanentCode(callbackUrl(TEMPLATE), TEMPLATE, C)).body).toBe('success');
    expect(fake.permanentCodeOf(C)).not.toBe(old);
    const task = await create(C);
    expect((await finished(String(task.body.jobid))).status).toBe('SUCCEEDED');
  });

  it('cancel_auth: new tasks refused, pending ones FAILED saying why, a repeat changes nothing', async () => {
    const pending = await create(D);
    expect(pending.status).toBe(202);
    expect((await fake.cancelAuth(callbackUrl(THIRD), THIRD, D)).body).toBe('success');
    expect((await fake.postEvent(callbackUrl(THIRD), THIRD, { InfoType: 'cancel_auth', AuthCorpId: D })).body).toBe(
      'success',
    );
    const ended = await finished(String(pending.body.jobid));
    expect([ended.status, ended.errmsg]).toEqual(['FAILED', DEAUTHORISED_TASK_ERRMSG]);
    const refused = await create(D);
    expect([refused.status, refused.body.error]).toEqual([403, 'corp_deauthorised']);
    expect(readFileSync(join(dir, 'corp-credentials.json'), 'utf8')).not.toContain(fake.permanentCodeOf(D) ?? '\u0000');
    // Other corps are untouched.
    expect((await finished(String((await create(A)).body.jobid))).status).toBe('SUCCEEDED');
  });

  it('no secret, ticket, permanent code or token in any log line, answer or stored task', async () => {
    // The state on disk (task records, poll messages, idempotency keys, budgets), byte for byte; the
    // credentials file and the corp store hold secrets by design (mode 0600) and are left out.
    const state = readdirSync(dir)
      .filter((name) => name !== 'corps.json' && !name.startsWith('corp-credentials.json'))
      .map((name) => readFileSync(join(dir, name)).toString('latin1'));
    expect(state.length).toBeGreaterThan(0);
    const haystacks = [logger.lines.join('\n'), answers.join('\n'), ...state];
    const secrets = fake.secrets().filter((value) => value.length >= 8);
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) for (const haystack of haystacks) expect(haystack.includes(secret)).toBe(false);
  });
});

describe('npm start with a credentials file', () => {
  let fake: FakeWecomApi;
  let dir: string;
  let server: RunningProcess | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'many-corps-start-'));
    fake = await startFakeWecomApi({
      emulator: new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(200) }),
      corps: { [A]: 'secret-of-corp-a', [B]: 'secret-of-corp-b' },
      suites: {
        [THIRD]: { kind: 'third_party', secret: 'suite-secret-3p', token: 'callback-token-3p', encodingAesKey: KEY_3P },
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (file: string) => ({
    PORT: '0',
    DATA_DIR: dir,
    POWERTOOLS_LOG_LEVEL: 'WARN',
    POLL_FIRST_DELAY_SECONDS: '1',
    POLL_MIN_WAIT_SECONDS: '1',
    ZONE_TRANSPORT: 'wecom',
    WECOM_CORPS_FILE: file,
    WECOM_ZONE_PROGRAM_ID: 'ZONE_PROGRAM',
    WECOM_ZONE_ABILITY_ID: 'run_task',
    WECOM_API_BASE_URL: fake.url,
  });

  it('refuses a wrong credentials file before listening, naming the field and never the secret', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({ corps: { [A]: { kind: 'third_party', permanent_code: 'LEAK-ME-NOT-123' } } }),
      {
        mode: 0o600,
      },
    );
    const result = await runTsProcess('lib/local/start.ts', [], env(file));
    expect(result.code).toBe(1);
    expect(result.output).toContain(`WECOM_CORPS_FILE: ${file}: corps.${A}.suite_id`);
    expect(result.output).not.toContain('LEAK-ME-NOT-123');
  });

  it('serves two corps from the file, each with its own token, and the suite callback route', async () => {
    const file = join(dir, 'corps.json');
    writeFileSync(
      file,
      JSON.stringify({
        corps: {
          [A]: { kind: 'self_built', secret: 'secret-of-corp-a' },
          [B]: { kind: 'self_built', secret: 'secret-of-corp-b' },
        },
        suites: {
          [THIRD]: {
            kind: 'third_party',
            suite_secret: 'suite-secret-3p',
            token: 'callback-token-3p',
            encoding_aes_key: KEY_3P,
          },
        },
      }),
      { mode: 0o600 },
    );
    server = await startTsProcess('lib/local/start.ts', [], env(file));
    expect(server.output()).toMatch(/2 corps and 1 suite\(s\)/);
    const one = await submitAndWait(server.url, { ...DOC_EXAMPLE_REQUEST, corp_id: A });
    const two = await submitAndWait(server.url, { ...DOC_EXAMPLE_REQUEST, corp_id: B });
    expect([one.task.status, two.task.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const owners = new Set(
      fake.corpCalls.filter((call) => call.kind === 'async_program_task').map((call) => call.token),
    );
    expect(owners.size).toBe(2);
    // The callback route is served (without the API's bearer token, as on AWS).
    expect(await fake.pushSuiteTicket(`${server.url}/wecom/callback/${THIRD}`, THIRD)).toEqual({
      status: 200,
      body: 'success',
    });
    expect(statSync(join(dir, 'corp-credentials.json')).mode & 0o777).toBe(0o600);
    for (const secret of fake.secrets().filter((value) => value.length >= 8))
      expect(server.output().includes(secret)).toBe(false);
  });
});
