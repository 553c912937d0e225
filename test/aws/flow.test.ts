/**
 * The whole flow on the AWS adapters: the local API server over HTTP, DynamoDB and SQS on moto_server,
 * the zone emulator across a real socket (HTTP transport), and a local event source mapping that
 * receives from SQS and deletes what the poller lets go, as Lambda's does.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../lib/local/stack.js';
import { createLogger, SERVICE_NAME } from '../../lib/log.js';
import { DynamoIdempotencyStore } from '../../lib/tasks/dynamoIdempotencyStore.js';
import { DynamoTaskStore } from '../../lib/tasks/dynamoStore.js';
import { type ProgramCall, ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { type ServedEmulator, serveEmulator } from '../../lib/zone/emulator/server.js';
import { HttpZoneTransport } from '../../lib/zone/httpTransport.js';
import { DOC_EXAMPLE_REQUEST, heldProgram, waitFor } from '../support/fixtures.js';
import {
  countCommands,
  createIdempotencyTable,
  createPollQueue,
  createTasksTable,
  dynamoClient,
  motoEndpoint,
  sqsClient,
} from '../support/moto.js';
import { SqsTestQueue } from '../support/sqsConsumer.js';

describe.skipIf(!motoEndpoint)('the flow on DynamoDB + SQS (moto) with the zone over HTTP', () => {
  const calls: ProgramCall[] = [];
  let zone: ZoneEmulator;
  let served: ServedEmulator;
  let stack: LocalStack;
  let store: DynamoTaskStore;
  let sends: { count: number };

  beforeAll(async () => {
    zone = new ZoneEmulator({
      archive: SAMPLE_ARCHIVE,
      programs: [...samplePrograms(500), heldProgram('HELD', 'held')],
      runExternal: async (call) => {
        calls.push(call);
        return undefined;
      },
    });
    served = await serveEmulator(zone);
    const dynamodb = dynamoClient();
    const sqs = sqsClient();
    sends = countCommands(sqs, 'SendMessageCommand');
    store = new DynamoTaskStore(dynamodb, await createTasksTable(dynamodb));
    stack = await startLocalStack({
      store,
      idempotency: new DynamoIdempotencyStore(dynamodb, await createIdempotencyTable(dynamodb)),
      queue: new SqsTestQueue(sqs, await createPollQueue(sqs)),
      zone: new HttpZoneTransport({ baseUrl: served.url }),
      // Zero-second waits: ChangeMessageVisibility(0) on real SQS, without the waiting.
      schedule: { firstDelaySeconds: 0, minWaitSeconds: 0, growth: 0, maxWaitSeconds: 0, maxAttempts: 10_000 },
      logger: createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' })),
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await served?.close();
  });

  async function submit(body: unknown): Promise<string> {
    const response = await fetch(`${stack.url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { jobid: string }).jobid;
  }

  it('runs the source document example to SUCCEEDED', async () => {
    const jobid = await submit(DOC_EXAMPLE_REQUEST);
    const task = await waitFor(
      async () => {
        const response = await fetch(`${stack.url}/tasks/${jobid}`);
        const body = (await response.json()) as { status: string; response_data: string };
        return body.status === 'PENDING' ? undefined : body;
      },
      30_000,
      200,
    );
    expect(task.status).toBe('SUCCEEDED');
    expect(JSON.parse(task.response_data)).toEqual({ avg_reply_time: 2, negative_feedback_cnt: 0 });
  });

  it('racing requests with one Idempotency-Key get one jobid and one zone task (conditional put on DynamoDB)', async () => {
    const before = zone.calls.create_program_task ?? 0;
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        fetch(`${stack.url}/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': 'moto-race' },
          body: JSON.stringify(DOC_EXAMPLE_REQUEST),
        }).then(async (response) => ({ status: response.status, body: (await response.json()) as { jobid: string } })),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(6).fill(202));
    expect(new Set(answers.map((answer) => answer.body.jobid)).size).toBe(1);
    expect((zone.calls.create_program_task ?? 0) - before).toBe(1);
  });

  it('holds a task pending for more than 20 polls on real SQS, completes it, with exactly one SendMessage', async () => {
    const before = sends.count;
    const jobid = await submit({ ...DOC_EXAMPLE_REQUEST, program_id: 'HELD', ability_id: 'held' });
    await waitFor(async () => (((await store.get(jobid))?.attempts ?? 0) > 20 ? true : undefined), 60_000, 200);
    expect((await store.get(jobid))?.status).toBe('PENDING');

    const call = calls.at(-1);
    expect(zone.programAsyncJobCallBack({ job_info: call?.job_info, errcode: 0, result: '{"score": 3}' }).errcode).toBe(
      0,
    );
    const task = await waitFor(
      async () => {
        const stored = await store.get(jobid);
        return stored?.status === 'PENDING' ? undefined : stored;
      },
      30_000,
      200,
    );
    expect(task).toMatchObject({ status: 'SUCCEEDED', response_data: '{"score": 3}' });
    expect(task.attempts).toBeGreaterThan(20);
    expect(sends.count - before).toBe(1);
  });
});
