/**
 * The road into a real zone, every hop a real process or a real HTTP hop where it is one in
 * production: the packaged functions (osls bundles, on DynamoDB + SQS + SSM on moto) → the fake WeCom
 * HTTPS API (`sync_call_program`, doc 53295) → the relay (`python3 relay/relay.py`, a child process)
 * → the fake vendor SDK (test/support/fake_sdk) → the zone emulator over HTTP → an analysis program.
 * Then the same road from `npm start` (ZONE_TRANSPORT=relay, a child process). Every process's
 * output, the table, the queue and every answer are scanned for keys, chat text and credentials.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpHandler } from '../../lib/http/middleware.js';
import { createApiServer } from '../../lib/local/apiServer.js';
import {
  type RunningEventSourceMapping,
  type SqsBatchHandler,
  startEventSourceMapping,
} from '../../lib/local/eventSourceMapping.js';
import { close, listen } from '../../lib/shared/nodeHttp.js';
import { ZoneEmulator, type ZoneEmulatorOptions } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { type ServedEmulator, serveEmulator } from '../../lib/zone/emulator/server.js';
import { type FakeWecomApi, generatedRelayAbilities, startFakeWecomApi } from '../support/fakeWecomApi.js';
import { DOC_EXAMPLE_REQUEST, SECRETS_AND_CHAT, submitAndWait, waitFor } from '../support/fixtures.js';
import {
  AWS_TEST_ENV,
  createIdempotencyTable,
  createPollQueue,
  createTasksTable,
  dynamoClient,
  motoEndpoint,
  sqsClient,
} from '../support/moto.js';
import { packageAndUnzip } from '../support/osls.js';
import { runTsProcess } from '../support/processes.js';
import { SqsTestQueue } from '../support/sqsConsumer.js';

const ROOT = resolve(import.meta.dirname, '../..');
const OUT = join(ROOT, '.relay-chain-test');
const FUNCTIONS = ['createTask', 'getTask', 'pollResult'];
const CORP_ID = 'ww-relay-chain';
const CORP_SECRET = `corp-secret-${randomUUID()}`;
const RELAY_PROGRAM = 'pg_relay_chain';
const python = spawnSync('python3', ['--version']).status === 0;
if (!python && process.env.CI)
  throw new Error('python3 is required for the relay chain test (the relay is a Python program)');

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

/** `python3 relay/relay.py` on `port`, with the fake SDK ahead on PYTHONPATH, calling the emulator. */
class RelayProcess {
  output = '';
  #child?: ChildProcess;
  constructor(
    readonly port: number,
    readonly zoneUrl: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  async start(): Promise<void> {
    const child = spawn('python3', [join(ROOT, 'relay', 'relay.py')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        PYTHONPATH: join(ROOT, 'test', 'support', 'fake_sdk'),
        PYTHONUNBUFFERED: '1',
        HOST: '127.0.0.1',
        PORT: String(this.port),
        FAKE_SDK_ZONE_URL: this.zoneUrl,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    child.stdout?.on('data', (chunk) => {
      this.output += String(chunk);
    });
    child.stderr?.on('data', (chunk) => {
      this.output += String(chunk);
    });
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`the relay exited with ${child.exitCode}: ${this.output}`);
      return (await connects(this.port)) || undefined;
    }, 15_000);
  }

  /** SIGTERM, as an orchestrator stops it; resolves with the exit code. */
  async stop(): Promise<number | null> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    child.kill('SIGTERM');
    return exited;
  }
}

function connects(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/** Everything written to this process's stdout/stderr (the functions' logs) while the suite runs; their lines are kept out of the report. */
function captureOutput(): { text(): string; restore(): void } {
  let captured = '';
  const original = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  const tee =
    (write: typeof process.stdout.write) =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      captured += text;
      // The functions' own DEBUG lines are for the scan, not for the test report.
      if (text.includes('"service":"wecom-zone-tasks"')) return true;
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    };
  process.stdout.write = tee(original.out) as typeof process.stdout.write;
  process.stderr.write = tee(original.err) as typeof process.stderr.write;
  return {
    text: () => captured,
    restore() {
      process.stdout.write = original.out;
      process.stderr.write = original.err;
    },
  };
}

const post = (url: string, body: unknown) =>
  fetch(`${url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe.skipIf(!motoEndpoint || !python)('the relay chain: functions → WeCom → relay → SDK → zone', () => {
  const emulatorOptions: ZoneEmulatorOptions = { archive: SAMPLE_ARCHIVE, programs: samplePrograms(1500) };
  const emulator = new ZoneEmulator(emulatorOptions);
  let zone: ServedEmulator;
  let relay: RelayProcess;
  let fake: FakeWecomApi;
  let api: { url: string; close(): Promise<void> };
  let poller: RunningEventSourceMapping;
  let table: string;
  let queueUrl: string;
  const answers: string[] = [];
  let output: ReturnType<typeof captureOutput>;

  beforeAll(async () => {
    await packageAndUnzip(OUT, FUNCTIONS);

    zone = await serveEmulator(emulator);
    relay = new RelayProcess(await freePort(), zone.url);
    await relay.start();
    fake = await startFakeWecomApi({
      corpId: CORP_ID,
      corpSecret: CORP_SECRET,
      emulator,
      relay: { programId: RELAY_PROGRAM, url: relay.url, timeoutMs: 1000 },
    });

    const dynamodb = dynamoClient();
    const sqs = sqsClient();
    table = await createTasksTable(dynamodb);
    queueUrl = await createPollQueue(sqs);
    const secretParam = `/wecom-zone-tasks/ci/${randomUUID()}/corp-secret`;
    await new SSMClient({
      endpoint: motoEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }).send(new PutParameterCommand({ Name: secretParam, Type: 'SecureString', Value: CORP_SECRET }));
    Object.assign(process.env, AWS_TEST_ENV, {
      TASKS_TABLE: table,
      IDEMPOTENCY_TABLE: await createIdempotencyTable(dynamodb),
      POLL_QUEUE_URL: queueUrl,
      ZONE_TRANSPORT: 'relay',
      WECOM_CORP_ID: CORP_ID,
      WECOM_CORP_SECRET_PARAM: secretParam,
      WECOM_RELAY_PROGRAM_ID: RELAY_PROGRAM,
      WECOM_API_BASE_URL: fake.url,
      ZONE_TIMEOUT_MS: '5000',
      POLL_FIRST_DELAY_SECONDS: '0',
      POLL_MIN_WAIT_SECONDS: '1',
      POLL_JITTER: '0',
      // Everything the functions log, down to DEBUG, goes through the privacy scan below.
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    output = captureOutput();
    const load = async (name: string) =>
      (await import(pathToFileURL(join(OUT, name, 'functions', `${name}.cjs`)).href)).handler;
    const createTask: HttpHandler = await load('createTask');
    const getTask: HttpHandler = await load('getTask');
    const pollResult: SqsBatchHandler = await load('pollResult');
    const server = createApiServer({
      routes: [
        { method: 'POST', path: '/tasks', handler: createTask },
        { method: 'GET', path: '/tasks/{jobid}', handler: getTask },
      ],
    });
    api = { url: await listen(server, 0, '127.0.0.1'), close: () => close(server) };
    poller = startEventSourceMapping({ consumer: new SqsTestQueue(sqs, queueUrl), handler: pollResult });
  }, 180_000);

  afterAll(async () => {
    output?.restore();
    await poller?.stop();
    await api?.close();
    await relay?.stop();
    await fake?.close();
    await zone?.close();
    await rm(OUT, { recursive: true, force: true });
  });

  /** POST, keeping the answer's text for the privacy scan. */
  async function create(body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await post(api.url, body);
    const text = await response.text();
    answers.push(text);
    return { status: response.status, body: JSON.parse(text) };
  }

  it("runs the document's example to SUCCEEDED, polling through pending answers", async () => {
    const { jobid, task } = await submitAndWait(api.url, DOC_EXAMPLE_REQUEST, 40_000);
    answers.push(JSON.stringify(task));
    expect(task.status).toBe('SUCCEEDED');
    expect(JSON.parse(task.response_data)).toEqual({ avg_reply_time: 2, negative_feedback_cnt: 0 });
    // The program takes 1.5 s: the first polls were answered 710642 through the whole chain.
    expect(task.attempts).toBeGreaterThanOrEqual(2);
    expect(fake.count('sync_call_program', 0)).toBeGreaterThanOrEqual(3);
    expect(fake.syncCallBodies).toContainEqual(
      expect.objectContaining({ program_id: RELAY_PROGRAM, ability_id: 'invoke_create_program_task' }),
    );
    expect(fake.syncCallBodies).toContainEqual({
      program_id: RELAY_PROGRAM,
      ability_id: 'invoke_get_program_task_result',
      request_data: JSON.stringify({ jobid }),
    });
    // One token per function (createTask, pollResult), each cached in its own container.
    expect(fake.count('gettoken')).toBe(2);
  }, 60_000);

  it('reports duplicated msgids the zone dropped, without their keys', async () => {
    const duplicate = {
      ...DOC_EXAMPLE_REQUEST,
      msg_list: [...DOC_EXAMPLE_REQUEST.msg_list, DOC_EXAMPLE_REQUEST.msg_list[0]],
    };
    const { status, body } = await create(duplicate);
    expect(status).toBe(202);
    expect(body.fail_list).toEqual([{ errcode: 710613, errmsg: expect.any(String), msgid: 'MSGID1' }]);
  });

  it("answers the zone's own refusal of an unknown program as 422, through the relay", async () => {
    const { status, body } = await create({ ...DOC_EXAMPLE_REQUEST, program_id: 'NO_SUCH_PROGRAM' });
    expect(status).toBe(422);
    expect(body).toMatchObject({ error: 'zone_rejected', errcode: 800001 });
  });

  it('names the relay ability and the protocol file when the console holds a wrong input protocol', async () => {
    const abilities = generatedRelayAbilities();
    const good = abilities.invoke_create_program_task;
    if (!good) throw new Error('no generated protocol for invoke_create_program_task');
    const { debug_info: _dropped, ...narrower } = good.input as Record<string, unknown>;
    fake.setRelayAbility('invoke_create_program_task', { input: narrower, output: good.output });
    try {
      const jobs = emulator.jobCount;
      const { status, body } = await create(DOC_EXAMPLE_REQUEST);
      expect(status).toBe(503);
      expect(body).toMatchObject({ error: 'zone_misconfigured', errcode: 790016 });
      expect(String(body.message)).toMatch(
        /invoke_create_program_task.*relay\/protocol\/invoke_create_program_task\.input\.json/,
      );
      expect(emulator.jobCount).toBe(jobs);
    } finally {
      fake.setRelayAbility('invoke_create_program_task', good);
    }
  });

  it('names the fix when WeCom refuses the corp secret (rotated at WeCom, not yet in SSM)', async () => {
    fake.setCorpSecret(`rotated-${randomUUID()}`);
    try {
      // The cached token still works until WeCom ends it: end it, so the functions must fetch a new one.
      fake.revokeTokens();
      const { status, body } = await create(DOC_EXAMPLE_REQUEST);
      expect(status).toBe(503);
      expect(body).toMatchObject({ error: 'zone_misconfigured', errcode: 40001 });
      expect(String(body.message)).toMatch(/corp secret is wrong/);
    } finally {
      fake.setCorpSecret(CORP_SECRET);
    }
  });

  it('answers 502 zone_outcome_unknown when the relay is too slow for WeCom, and the task did reach the zone', async () => {
    const jobs = emulator.jobCount;
    emulatorOptions.faults = { latencyMs: 1800 };
    try {
      const { status, body } = await create(DOC_EXAMPLE_REQUEST);
      expect(status).toBe(502);
      expect(body).toMatchObject({ error: 'zone_outcome_unknown', errcode: 710675 });
      expect(String(body.message)).toMatch(/may have created the task/);
      // Exactly what the answer warns of: the zone created a task nobody tracks.
      await waitFor(async () => (emulator.jobCount === jobs + 1 ? true : undefined), 5000);
    } finally {
      emulatorOptions.faults = undefined;
    }
  });

  it('survives the relay going down: creates answer 503 (nothing created), pending tasks finish once it is back', async () => {
    const { status: accepted, body: created } = await create(DOC_EXAMPLE_REQUEST);
    expect(accepted).toBe(202);
    expect(await relay.stop()).toBe(0);

    const jobs = emulator.jobCount;
    const { status, body } = await create(DOC_EXAMPLE_REQUEST);
    expect(status).toBe(503);
    expect(body).toMatchObject({ error: 'zone_unavailable', errcode: 710674 });
    expect(emulator.jobCount).toBe(jobs);
    // Polls fail meanwhile (710674: transient); the task waits instead of failing.
    await waitFor(async () => (fake.count('sync_call_program', 710674) >= 3 ? true : undefined), 20_000);
    const during = (await (await fetch(`${api.url}/tasks/${String(created.jobid)}`)).json()) as { status: string };
    expect(during.status).toBe('PENDING');

    await relay.start();
    const task = await waitFor(async () => {
      const view = (await (await fetch(`${api.url}/tasks/${String(created.jobid)}`)).json()) as { status: string };
      return view.status === 'PENDING' ? undefined : view;
    }, 40_000);
    answers.push(JSON.stringify(task));
    expect(task.status).toBe('SUCCEEDED');
  }, 90_000);

  it('leaks no key, chat text, corp secret or token into any process output, record, message or answer', async () => {
    const { ScanCommand } = await import('@aws-sdk/client-dynamodb');
    const { Items } = await dynamoClient().send(new ScanCommand({ TableName: table }));
    const { ReceiveMessageCommand } = await import('@aws-sdk/client-sqs');
    const { Messages } = await sqsClient().send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
    );
    const haystacks: Record<string, string> = {
      'functions output': output.text(),
      'relay output': relay.output,
      'tasks table': JSON.stringify(Items),
      'poll queue': JSON.stringify(Messages ?? []),
      'API answers': answers.join('\n'),
    };
    expect(relay.output.length).toBeGreaterThan(0);
    expect(output.text()).toMatch(/task created/);
    for (const [where, text] of Object.entries(haystacks)) {
      for (const secret of [...SECRETS_AND_CHAT, CORP_SECRET, ...fake.issuedTokens])
        expect(text, `${where} holds a secret`).not.toContain(secret);
    }
  });
});

describe.skipIf(!python)('npm start with ZONE_TRANSPORT=relay', () => {
  let child: ChildProcess | undefined;
  let relay: RelayProcess | undefined;
  let fake: FakeWecomApi | undefined;
  let zone: ServedEmulator | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    if (child?.pid && child.exitCode === null) {
      const exited = new Promise((done) => child?.once('exit', done));
      // The whole process group: npm, and the tsx and node it started.
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
    await relay?.stop();
    await fake?.close();
    await zone?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves a corp through the relay with the secret in a file (as `echo secret > file` writes it)', async () => {
    const emulator = new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(300) });
    zone = await serveEmulator(emulator);
    relay = new RelayProcess(await freePort(), zone.url);
    await relay.start();
    fake = await startFakeWecomApi({
      corpId: CORP_ID,
      corpSecret: CORP_SECRET,
      emulator,
      relay: { programId: RELAY_PROGRAM, url: relay.url },
    });
    dir = await mkdtemp(join(tmpdir(), 'relay-start-'));
    const secretFile = join(dir, 'corp-secret');
    await writeFile(secretFile, `${CORP_SECRET}\n`);

    // The shell of a user: none of the suite's AWS settings (the describe above set them in this process).
    const shell = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !/^(ZONE_|WECOM_|POLL_|TASKS_|IDEMPOTENCY_|AWS_)/.test(key)),
    );
    const started = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: {
        ...shell,
        PORT: '0',
        // Its own data directory: never the checkout's .data/, which a running npm start may own.
        DATA_DIR: join(dir, 'data'),
        ZONE_TRANSPORT: 'relay',
        WECOM_CORP_ID: CORP_ID,
        WECOM_CORP_SECRET_FILE: secretFile,
        WECOM_RELAY_PROGRAM_ID: RELAY_PROGRAM,
        WECOM_API_BASE_URL: fake.url,
        POLL_FIRST_DELAY_SECONDS: '0',
        POLL_MIN_WAIT_SECONDS: '1',
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child = started;
    let text = '';
    started.stdout?.on('data', (chunk) => {
      text += String(chunk);
    });
    started.stderr?.on('data', (chunk) => {
      text += String(chunk);
    });
    const url = await waitFor(async () => {
      if (started.exitCode !== null) throw new Error(`npm start exited: ${text}`);
      return /listening on (http:\/\/\S+)/.exec(text)?.[1];
    }, 20_000);
    expect(text).toMatch(/relay transport/);

    const { task } = await submitAndWait(url, DOC_EXAMPLE_REQUEST, 30_000);
    expect(task.status).toBe('SUCCEEDED');
    expect(fake.count('sync_call_program', 0)).toBeGreaterThanOrEqual(2);
    expect(fake.count('gettoken', 0)).toBe(1);
    for (const secret of [...SECRETS_AND_CHAT, CORP_SECRET, ...fake.issuedTokens]) {
      expect(text).not.toContain(secret);
      expect(relay.output).not.toContain(secret);
    }
  }, 60_000);
});

describe('npm start with a WeCom transport checks the corp secret before it listens', () => {
  it('refuses a missing or empty secret file, naming it, and never starts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relay-secret-'));
    try {
      const empty = join(dir, 'empty');
      await writeFile(empty, '\n');
      const shell = Object.fromEntries(
        Object.entries(process.env).filter(([key]) => !/^(ZONE_|WECOM_|POLL_|TASKS_|IDEMPOTENCY_|AWS_)/.test(key)),
      ) as Record<string, string>;
      for (const [file, problem] of [
        [join(dir, 'missing'), /ENOENT/],
        [empty, /holds no secret/],
      ] as const) {
        const { code, output } = await runTsProcess('lib/local/start.ts', [], {
          ...shell,
          PORT: '0',
          ZONE_TRANSPORT: 'relay',
          WECOM_CORP_ID: CORP_ID,
          WECOM_CORP_SECRET_FILE: file,
          // runTsProcess starts from this process's environment, where the suite above set these.
          WECOM_CORP_SECRET_PARAM: '',
          WECOM_CORP_SECRET_ARN: '',
          WECOM_RELAY_PROGRAM_ID: RELAY_PROGRAM,
        });
        expect(code).toBe(1);
        expect(output).toContain(`the corp secret (file:${file})`);
        expect(output).toMatch(problem);
        expect(output).not.toMatch(/listening on/);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
