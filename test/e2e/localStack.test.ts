/**
 * The whole flow through the local stack over real HTTP: the same handlers, the embedded queue
 * delivering SQS-shaped batches to the poller, the embedded store, and the zone emulator.
 */
import { connect } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalStack, startLocalStack } from '../../lib/local/stack.js';
import { createLogger, SERVICE_NAME } from '../../lib/log.js';
import { EmbeddedQueue } from '../../lib/queue/embeddedQueue.js';
import { protocolMismatch } from '../../lib/render/protocolMatch.js';
import { MemoryTaskStore } from '../../lib/tasks/memoryStore.js';
import type { TaskView } from '../../lib/tasks/task.js';
import { type ProgramCall, ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { DOC_EXAMPLE_REQUEST, heldProgram, message, SECRETS_AND_CHAT, waitFor } from '../support/fixtures.js';

const OUTPUT_PROTOCOL = { avg_reply_time: 8, negative_feedback_cnt: 5 };

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : body instanceof Uint8Array ? Buffer.from(body) : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function getTask(url: string, jobid: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/tasks/${jobid}`, { headers });
  return { status: response.status, body: (await response.json()) as TaskView & Record<string, unknown> };
}

async function finished(url: string, jobid: string, seen: string[] = []): Promise<TaskView> {
  return waitFor(
    async () => {
      const { body } = await getTask(url, jobid);
      seen.push(body.status);
      return body.status === 'PENDING' ? undefined : body;
    },
    20_000,
    100,
  );
}

describe('local stack: the source document example', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({
      zone: new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(1500) }),
      schedule: { firstDelaySeconds: 1, minWaitSeconds: 1 },
      logger: createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' })),
    });
  });
  afterAll(() => stack.stop());

  it('POST /tasks answers 202 PENDING, then GET /tasks/{jobid} reaches SUCCEEDED with output in the protocol', async () => {
    const created = await post(stack.url, DOC_EXAMPLE_REQUEST);
    expect(created.status).toBe(202);
    expect(created.body).toEqual({ jobid: expect.any(String), status: 'PENDING', fail_list: [] });

    const statuses: string[] = [];
    const task = await finished(stack.url, created.body.jobid as string, statuses);
    expect(statuses[0]).toBe('PENDING');
    expect(task).toMatchObject({ status: 'SUCCEEDED', response_errcode: 0, errcode: null, fail_list: [] });
    expect(task.attempts).toBeGreaterThanOrEqual(1);
    expect(stack.metrics.counts).toMatchObject({ TasksCreated: 1, TasksSucceeded: 1, PollsFinal: 1 });
    expect(stack.metrics.counts.Polls).toBe(task.attempts);
    expect(stack.metrics.completionTimesMs).toHaveLength(1);
    const output = JSON.parse(task.response_data ?? '');
    expect(output).toEqual({ avg_reply_time: 2, negative_feedback_cnt: 0 });
    expect(protocolMismatch(output, OUTPUT_PROTOCOL)).toBeUndefined();
  });

  it('the echo ability returns the rendered input; under escape_type 1 it parses back to the chat', async () => {
    const created = await post(stack.url, {
      program_id: 'PROG_ID',
      ability_id: 'echo',
      msg_list: [message(1), message(2), message(3), message(1), message(5)],
      escape_type: 1,
    });
    expect(created.status).toBe(202);
    // The duplicate comes back without its secret_key.
    expect(created.body.fail_list).toEqual([{ errcode: 710613, errmsg: 'msgid duplicated', msgid: 'MSGID1' }]);
    const task = await finished(stack.url, created.body.jobid as string);
    const rendered = JSON.parse(JSON.parse(task.response_data ?? '').input);
    expect(rendered).toEqual({
      chat: 'A说：今天天气真不错！\nB说：确实呀！\nA说：发货太慢了，我要投诉',
      chatcontent: '今天天气真不错！\n确实呀！\n发货太慢了，我要投诉',
    });
    expect(task.fail_list.map((failed) => [failed.msgid, failed.errcode])).toEqual([
      ['MSGID1', 710613],
      ['MSGID5', 710602],
    ]);
  });

  it('a task whose every message failed ends FAILED with the zone code', async () => {
    const created = await post(stack.url, { ...DOC_EXAMPLE_REQUEST, msg_list: [message(5)] });
    const task = await finished(stack.url, created.body.jobid as string);
    expect(task).toMatchObject({
      status: 'FAILED',
      errcode: 710637,
      fail_list: [{ msgid: 'MSGID5', errcode: 710602 }],
    });
  });
});

describe('local stack: bad input gets a 4xx that names the problem', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({
      logger: createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' })),
    });
  });
  afterAll(() => stack.stop());

  it.each([
    ['malformed JSON', '{"program_id": ', 400, 'invalid_json', /not valid JSON/],
    ['an empty body', '', 400, 'invalid_json', /empty/],
    ['a JSON array', '[]', 400, 'invalid_request', /\(body\)/],
    ['a missing program_id', { ...DOC_EXAMPLE_REQUEST, program_id: undefined }, 400, 'invalid_request', /^program_id:/],
    [
      'an empty ability_id',
      { ...DOC_EXAMPLE_REQUEST, ability_id: '' },
      400,
      'invalid_request',
      /^ability_id: must be a non-empty string/,
    ],
    [
      'no messages',
      { ...DOC_EXAMPLE_REQUEST, msg_list: [] },
      400,
      'invalid_request',
      /^msg_list: must hold at least 1/,
    ],
    [
      '1001 messages',
      { ...DOC_EXAMPLE_REQUEST, msg_list: Array.from({ length: 1001 }, (_, i) => message(i)) },
      400,
      'invalid_request',
      /^msg_list: must hold at most 1000/,
    ],
    [
      'a message without its key',
      { ...DOC_EXAMPLE_REQUEST, msg_list: [message(1), { msgid: 'M2', encrypt_info: {} }] },
      400,
      'invalid_request',
      /^msg_list\[1\]\.encrypt_info\.secret_key:/,
    ],
    [
      'escape_type 2',
      { ...DOC_EXAMPLE_REQUEST, escape_type: 2 },
      400,
      'invalid_request',
      /^escape_type: must be 0 or 1/,
    ],
    ['escape_type "1"', { ...DOC_EXAMPLE_REQUEST, escape_type: '1' }, 400, 'invalid_request', /^escape_type/],
    [
      'debug_info without chat',
      { ...DOC_EXAMPLE_REQUEST, debug_info: { chat_content: 'x' } },
      400,
      'invalid_request',
      /^debug_info\.chat:/,
    ],
    [
      'an unknown field',
      { ...DOC_EXAMPLE_REQUEST, msglist: [] },
      400,
      'invalid_request',
      /unknown field\(s\): msglist/,
    ],
    [
      'a __proto__ key',
      `{"__proto__": {"x": 1}, ${JSON.stringify(DOC_EXAMPLE_REQUEST).slice(1)}`,
      400,
      'invalid_request',
      /__proto__/,
    ],
  ])('%s', async (_name, body, status, error, message) => {
    const response = await post(stack.url, body);
    expect(response.status).toBe(status);
    expect(response.body.error).toBe(error);
    expect(response.body.message).toMatch(message);
  });

  it('another content type: 415', async () => {
    const response = await post(stack.url, JSON.stringify(DOC_EXAMPLE_REQUEST), { 'content-type': 'text/plain' });
    expect(response).toMatchObject({ status: 415, body: { error: 'unsupported_media_type' } });
  });

  it('bytes that are not UTF-8: 400', async () => {
    const response = await post(stack.url, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]));
    expect(response).toMatchObject({ status: 400, body: { error: 'invalid_encoding' } });
  });

  it('a body over 6 MB (Lambda’s synchronous payload limit): 413', async () => {
    const response = await post(stack.url, `{"x":"${'a'.repeat(6 * 1024 * 1024)}"}`);
    expect(response).toMatchObject({ status: 413, body: { error: 'payload_too_large' } });
  });

  it('a program the zone does not know: 422 with the zone code', async () => {
    const response = await post(stack.url, { ...DOC_EXAMPLE_REQUEST, program_id: 'NOPE' });
    expect(response).toMatchObject({ status: 422, body: { error: 'zone_rejected', errcode: 800001 } });
  });

  it('GET: 400 for a jobid that is not a jobid, 404 for an unknown one, 404 for an unknown route', async () => {
    expect(await getTask(stack.url, 'bad%20id!')).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    // Jobids are the zone's and may be long (issue 13): over 1024 bytes is no jobid; 129 characters is one.
    expect(await getTask(stack.url, 'x'.repeat(1025))).toMatchObject({ status: 400 });
    expect(await getTask(stack.url, 'x'.repeat(129))).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(await getTask(stack.url, 'doesNotExist')).toMatchObject({ status: 404, body: { error: 'not_found' } });
    const other = await fetch(`${stack.url}/nothing`);
    expect(other.status).toBe(404);
    // An absolute-form request target with a host that is not one: 400, not a crash.
    const raw = await new Promise<string>((resolve) => {
      const socket = connect(Number(new URL(stack.url).port), '127.0.0.1', () =>
        socket.end('GET http://[x]/tasks/abc HTTP/1.1\r\nHost: x\r\n\r\n'),
      );
      let answer = '';
      socket.on('data', (chunk) => {
        answer += String(chunk);
      });
      socket.on('close', () => resolve(answer));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    const wrongMethod = await fetch(`${stack.url}/tasks`, { method: 'GET' });
    expect(wrongMethod.status).toBe(405);
  });
});

describe('local stack: a long job', () => {
  it('holds a task pending for more than 20 polls, completes it, and sends exactly one message', async () => {
    const calls: ProgramCall[] = [];
    const zone = new ZoneEmulator({
      archive: SAMPLE_ARCHIVE,
      programs: [heldProgram('PROG_ID', 'slow')],
      runExternal: async (call) => {
        calls.push(call);
        return undefined;
      },
    });
    const queue = new EmbeddedQueue();
    const store = new MemoryTaskStore();
    const stack = await startLocalStack({
      zone,
      queue,
      store,
      // Zero-second waits: the same code path as real waits, without the waiting.
      schedule: { firstDelaySeconds: 0, minWaitSeconds: 0, growth: 0, maxWaitSeconds: 0, maxAttempts: 1_000_000 },
      logger: createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' })),
    });
    try {
      const created = await post(stack.url, { ...DOC_EXAMPLE_REQUEST, ability_id: 'slow' });
      const jobid = created.body.jobid as string;
      await waitFor(async () => ((await store.get(jobid))?.attempts ?? 0) > 20 || undefined);
      expect((await getTask(stack.url, jobid)).body.status).toBe('PENDING');

      expect(
        zone.programAsyncJobCallBack({ job_info: calls[0]?.job_info, errcode: 0, result: '{"score": 7}' }).errcode,
      ).toBe(0);
      const task = await finished(stack.url, jobid);
      expect(task).toMatchObject({ status: 'SUCCEEDED', response_data: '{"score": 7}' });
      expect(task.attempts).toBeGreaterThan(20);
      expect(queue.sent.filter((sent) => JSON.parse(sent.body).jobid === jobid)).toHaveLength(1);
      await waitFor(async () => (queue.size === 0 ? true : undefined));
    } finally {
      await stack.stop();
    }
  });
});

describe('local stack: privacy and access', () => {
  const written: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('no secret_key, chat text or debug_info in any log line (DEBUG), stored record, queue message or error body', async () => {
    const capture = (chunk: unknown) => {
      written.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    const queue = new EmbeddedQueue();
    const store = new MemoryTaskStore();
    const stack = await startLocalStack({
      queue,
      store,
      zone: new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(300) }),
      schedule: { firstDelaySeconds: 0, minWaitSeconds: 0, growth: 0, maxWaitSeconds: 0 },
      logger: createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'DEBUG' })),
    });
    const bodies: string[] = [];
    try {
      const request = {
        ...DOC_EXAMPLE_REQUEST,
        msg_list: [
          message(1),
          message(2),
          message(3),
          message(4),
          message(1),
          { msgid: 'MSGID2', encrypt_info: { secret_key: 'SECRETKEY3' } },
        ],
        debug_info: { chat: '今天天气真不错 debug', chat_content: '确实呀 debug' },
      };
      const created = await post(stack.url, request);
      bodies.push(JSON.stringify(created.body));
      await finished(stack.url, created.body.jobid as string);
      // Error paths carry the same secrets in their requests.
      bodies.push(JSON.stringify((await post(stack.url, { ...request, escape_type: 'SECRETKEY1' })).body));
      bodies.push(JSON.stringify((await post(stack.url, { ...request, extra: 'SECRETKEY2' })).body));
      bodies.push(JSON.stringify((await post(stack.url, { ...request, program_id: 'NOPE' })).body));
    } finally {
      await stack.stop();
      vi.restoreAllMocks();
    }
    const logs = written.join('');
    expect(logs).toContain('"level":"DEBUG"');
    expect(logs).toContain('task finished');
    // Every line of an invocation carries its request id (Powertools' injectLambdaContext), and the jobid where there is one.
    const created = logs.split('\n').find((line) => line.includes('"task created"'));
    expect(created).toMatch(/"function_request_id":"[0-9a-f-]{36}"/);
    expect(created).toMatch(/"jobid":"/);
    const everything = [logs, JSON.stringify(store.snapshot()), JSON.stringify(queue.sent), ...bodies].join('\n');
    for (const secret of SECRETS_AND_CHAT) expect(everything).not.toContain(secret);
    expect(everything).not.toContain('debug_info');
  });

  it('requires the bearer token when one is configured', async () => {
    const stack = await startLocalStack({
      bearerToken: 'local-token',
      logger: createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' })),
    });
    try {
      expect((await post(stack.url, DOC_EXAMPLE_REQUEST)).status).toBe(401);
      expect((await getTask(stack.url, 'abc')).status).toBe(401);
      const ok = await post(stack.url, DOC_EXAMPLE_REQUEST, { authorization: 'Bearer local-token' });
      expect(ok.status).toBe(202);
      // The API document is public, as on AWS.
      expect((await fetch(`${stack.url}/openapi.json`)).status).toBe(200);
    } finally {
      await stack.stop();
    }
  });
});

describe('local stack: idempotent creation', () => {
  let stack: LocalStack;
  let zone: ZoneEmulator;
  beforeAll(async () => {
    zone = new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(100) });
    stack = await startLocalStack({
      zone,
      logger: createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' })),
    });
  });
  afterAll(() => stack.stop());

  it('a retry with the same Idempotency-Key returns the same jobid and creates one zone task', async () => {
    const before = zone.calls.create_program_task ?? 0;
    const first = await post(stack.url, DOC_EXAMPLE_REQUEST, { 'idempotency-key': 'order-42' });
    const retry = await fetch(`${stack.url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'order-42' },
      body: JSON.stringify(DOC_EXAMPLE_REQUEST),
    });
    expect(retry.status).toBe(202);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(((await retry.json()) as { jobid: string }).jobid).toBe(first.body.jobid);
    expect((zone.calls.create_program_task ?? 0) - before).toBe(1);
  });

  it('racing requests with one key get one jobid and one zone task', async () => {
    const before = zone.calls.create_program_task ?? 0;
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => post(stack.url, DOC_EXAMPLE_REQUEST, { 'idempotency-key': 'race-1' })),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(8).fill(202));
    expect(new Set(answers.map((answer) => answer.body.jobid)).size).toBe(1);
    expect((zone.calls.create_program_task ?? 0) - before).toBe(1);
  });

  it('without a key, each request creates a task as before', async () => {
    const [a, b] = await Promise.all([post(stack.url, DOC_EXAMPLE_REQUEST), post(stack.url, DOC_EXAMPLE_REQUEST)]);
    expect(a.body.jobid).not.toBe(b.body.jobid);
  });

  it('the same key with another request: 422; a key that is not a key: 400', async () => {
    await post(stack.url, DOC_EXAMPLE_REQUEST, { 'idempotency-key': 'k-reused' });
    const reused = await post(stack.url, { ...DOC_EXAMPLE_REQUEST, escape_type: 1 }, { 'idempotency-key': 'k-reused' });
    expect(reused).toMatchObject({ status: 422, body: { error: 'idempotency_key_reused' } });
    const bad = await post(stack.url, DOC_EXAMPLE_REQUEST, { 'idempotency-key': 'x'.repeat(256) });
    expect(bad).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^Idempotency-Key/) } });
  });

  it('a rejected request frees its key', async () => {
    const rejected = await post(
      stack.url,
      { ...DOC_EXAMPLE_REQUEST, program_id: 'NOPE' },
      { 'idempotency-key': 'k-free' },
    );
    expect(rejected.status).toBe(422);
    const retried = await post(
      stack.url,
      { ...DOC_EXAMPLE_REQUEST, program_id: 'NOPE' },
      { 'idempotency-key': 'k-free' },
    );
    expect(retried.status).toBe(422);
    expect(retried.body.error).toBe('zone_rejected');
  });
});
