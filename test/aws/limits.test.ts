/**
 * Issue 13, on DynamoDB (moto_server, which refuses items over about 400 KB as DynamoDB does): every
 * record a task writes stays inside the item limit, and a failure after the zone created a task
 * never answers "safe to retry".
 */

import { Logger } from '@aws-lambda-powertools/logger';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../lib/local/stack.js';
import { createLogger, SERVICE_NAME } from '../../lib/log.js';
import { DEFAULT_CLASSIFIER } from '../../lib/poll/classify.js';
import { pollTaskRecord } from '../../lib/poll/pollTask.js';
import { DEFAULT_POLL_SCHEDULE } from '../../lib/poll/schedule.js';
import { ERRCODE } from '../../lib/protocol/errcodes.js';
import type { GetProgramTaskResultResponse } from '../../lib/protocol/zone.js';
import { EmbeddedQueue } from '../../lib/queue/embeddedQueue.js';
import { DynamoIdempotencyStore } from '../../lib/tasks/dynamoIdempotencyStore.js';
import { DynamoTaskStore } from '../../lib/tasks/dynamoStore.js';
import { checkRecordFits, MAX_ENTRY_ERRMSG_BYTES, RESULT_ROOM_BYTES } from '../../lib/tasks/recordSize.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { recordingLogger, taskRecord } from '../support/fixtures.js';
import { createIdempotencyTable, createTasksTable, dynamoClient, motoEndpoint } from '../support/moto.js';

const silent = () => createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' }));

/** The request: MSGID1 and 999 copies of a 450-character msgid (about 497 KB of JSON). */
const OVERSIZED = {
  program_id: 'PROG_ID',
  ability_id: 'ABILITY_ID',
  msg_list: [
    { msgid: 'MSGID1', encrypt_info: { secret_key: 'SECRETKEY1' } },
    ...Array.from({ length: 999 }, () => ({ msgid: 'M'.repeat(450), encrypt_info: { secret_key: 'SECRETKEY2' } })),
  ],
  escape_type: 0,
};

describe.skipIf(!motoEndpoint)('DynamoDB’s 400 KB item limit, at every write of a task', () => {
  let zone: ZoneEmulator;
  let stack: LocalStack;
  let tableName: string;
  const dynamodb = dynamoClient();

  beforeAll(async () => {
    zone = new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(0) });
    tableName = await createTasksTable(dynamodb);
    stack = await startLocalStack({
      store: new DynamoTaskStore(dynamodb, tableName),
      idempotency: new DynamoIdempotencyStore(dynamodb, await createIdempotencyTable(dynamodb)),
      zone,
      logger: silent(),
      sweepEverySeconds: 0,
    });
  });
  afterAll(() => stack?.stop());

  const post = async (body: unknown, key: string) => {
    const response = await fetch(`${stack.url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('a create whose record could not be stored: a clear 413 before the zone is called, twice with one key, and no zone task', async () => {
    expect(Buffer.byteLength(JSON.stringify(OVERSIZED))).toBeGreaterThan(450_000);
    const before = zone.calls.create_program_task ?? 0;
    for (let attempt = 0; attempt < 2; attempt++) {
      const answer = await post(OVERSIZED, 'oversized-1');
      expect(answer.status).toBe(413);
      expect(answer.body).toMatchObject({
        error: 'task_too_large',
        message: expect.stringMatching(/^msg_list: .*400 KB item limit/),
      });
      expect(JSON.stringify(answer.body)).not.toMatch(/safe to retry|MMMM|SECRETKEY/);
    }
    expect((zone.calls.create_program_task ?? 0) - before).toBe(0);
    const { Items = [] } = await dynamodb.send(new ScanCommand({ TableName: tableName }));
    expect(Items.filter((item) => item.status !== undefined)).toHaveLength(0);
  });

  it('the largest create the check lets through is stored, and so is its worst end: every message failed, with the room left for the result', async () => {
    // 1000 distinct msgids as long as the check allows.
    const entry = (length: number) =>
      Array.from({ length: 1000 }, (_, i) => ({
        msgid: `${i}`.padStart(length, 'M'),
        encrypt_info: { secret_key: 'K' },
      }));
    let length = 10;
    const fits = (candidate: number) => {
      try {
        checkRecordFits(
          { program_id: 'PROG_ID', ability_id: 'ABILITY_ID', msg_list: entry(candidate), escape_type: 0 },
          { corpId: 'default' },
        );
        return true;
      } catch {
        return false;
      }
    };
    while (fits(length + 1)) length += 1;
    const request = { program_id: 'PROG_ID', ability_id: 'ABILITY_ID', msg_list: entry(length), escape_type: 0 };
    expect(fits(length + 1)).toBe(false);
    expect((await post({ ...request, msg_list: entry(length + 1) }, 'largest-over')).status).toBe(413);
    const created = await post(request, 'largest');
    expect(created.status).toBe(202);
    const jobid = created.body.jobid as string;

    // Every message failed, each with an errmsg longer than is kept, and the result fills the room left.
    const store = new DynamoTaskStore(dynamodb, tableName);
    const stored = await store.get(jobid);
    const answer: GetProgramTaskResultResponse = {
      errcode: 0,
      errmsg: 'ok',
      fail_list: request.msg_list.map(({ msgid }) => ({
        errcode: ERRCODE.msgidInvalid,
        errmsg: 'e'.repeat(MAX_ENTRY_ERRMSG_BYTES * 2),
        msgid,
      })),
      response_errcode: 0,
      response_data: 'r'.repeat(RESULT_ROOM_BYTES - 4096),
    };
    const queue = new EmbeddedQueue();
    await queue.sendPoll({ jobid, chain: stored?.chain ?? 0 }, 0);
    const [record] = await queue.receive(1, 0);
    const outcome = await pollTaskRecord(record as NonNullable<typeof record>, {
      store,
      queue,
      zone: {
        createProgramTask: async () => ({ errcode: -1, errmsg: '', fail_list: [] }),
        getProgramTaskResult: async () => answer,
      },
      schedule: DEFAULT_POLL_SCHEDULE,
      classifier: DEFAULT_CLASSIFIER,
      logger: recordingLogger(),
      now: () => (stored?.next_poll_at ?? 0) + 1,
    });
    expect(outcome).toBe('done');
    const finished = await store.get(jobid);
    expect(finished).toMatchObject({ status: 'SUCCEEDED', response_data: answer.response_data });
    expect(finished?.fail_list).toHaveLength(1000);
  });
});

describe.skipIf(!motoEndpoint)('a final answer too large for the record', () => {
  it('340 KB of response_data and a 999-entry fail_list: the task ends FAILED with the reason, instead of failing until TIMED_OUT', async () => {
    const dynamodb = dynamoClient();
    const store = new DynamoTaskStore(dynamodb, await createTasksTable(dynamodb));
    await store.create(taskRecord({ jobid: 'big-result', message_count: 999 }));
    const queue = new EmbeddedQueue();
    await queue.sendPoll({ jobid: 'big-result' }, 0);
    const [record] = await queue.receive(1, 0);
    const answer: GetProgramTaskResultResponse = {
      errcode: 0,
      errmsg: 'ok',
      fail_list: Array.from({ length: 999 }, (_, i) => ({
        errcode: ERRCODE.msgidInvalid,
        errmsg: 'msgid invalid',
        msgid: `MSG-${i}`.padEnd(40, 'x'),
      })),
      response_errcode: 0,
      response_data: JSON.stringify({ blob: 'x'.repeat(340_000) }),
    };
    const outcome = await pollTaskRecord(record as NonNullable<typeof record>, {
      store,
      queue,
      zone: {
        createProgramTask: async () => ({ errcode: -1, errmsg: '', fail_list: [] }),
        getProgramTaskResult: async () => answer,
      },
      schedule: DEFAULT_POLL_SCHEDULE,
      classifier: DEFAULT_CLASSIFIER,
      logger: recordingLogger(),
      now: () => Date.parse('2026-11-25T00:00:10Z'),
    });
    expect(outcome).toBe('done');
    const stored = await store.get('big-result');
    expect(stored).toMatchObject({
      status: 'FAILED',
      response_errcode: 0,
      errmsg: expect.stringMatching(
        /^response_data exceeds the \d+ bytes left in the task record: the program answered 340011 bytes and 999 fail_list entries/,
      ),
    });
    expect(stored?.response_data).toBeUndefined();
    // What did fit is kept: which messages failed.
    expect(stored?.fail_list).toHaveLength(999);
  });
});
