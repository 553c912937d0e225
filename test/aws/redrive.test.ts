/**
 * Each dead-letter queue's redrive recipe (docs/deploy-and-operate.md "Redrive") on moto, end to end: messages really
 * dead-letter (a consumer fails until SQS's redrive policy moves them), the `redrive` command runs as
 * a user runs it (a separate CLI process with the default credential chain, against moto's SQS), and a
 * working consumer, wired as on Lambda (`lib/wiring`), takes the messages to finished tasks.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_DETAIL_TYPE } from '../../lib/api/schemas.js';
import { EXIT } from '../../lib/cli/args.js';
import { submitTask } from '../../lib/create/submitTask.js';
import { makeCreateFromEventHandler } from '../../lib/handlers/createFromEvent.js';
import { makeCreateFromQueueHandler } from '../../lib/handlers/createFromQueue.js';
import { makePollResultHandler } from '../../lib/handlers/pollResult.js';
import { localContext, type SqsBatchHandler, startEventSourceMapping } from '../../lib/local/eventSourceMapping.js';
import { redriveMessage } from '../../lib/ops/redrive.js';
import { CreateProgramTaskRequestSchema } from '../../lib/protocol/zone.js';
import { listen } from '../../lib/shared/nodeHttp.js';
import { createDependencies, createFromEventDependencies } from '../../lib/wiring/createTasks.js';
import { pollDependencies } from '../../lib/wiring/pollTasks.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { serveEmulator } from '../../lib/zone/emulator/server.js';
import { DOC_EXAMPLE_REQUEST, recordingLogger, SECRETS_AND_CHAT, waitFor } from '../support/fixtures.js';
import {
  AWS_TEST_ENV,
  createIdempotencyTable,
  createPollQueue,
  createTasksTable,
  dynamoClient,
  motoEndpoint,
  sqsClient,
} from '../support/moto.js';
import { SqsTestQueue } from '../support/sqsConsumer.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = resolve(ROOT, 'node_modules/.bin/tsx');

/** `wecom-zone-tasks redrive …` as a user runs it; the SDK's default chain finds moto through AWS_ENDPOINT_URL. */
function redriveCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!/^AWS_/.test(name)) env[name] = value;
  Object.assign(env, AWS_TEST_ENV, { AWS_EC2_METADATA_DISABLED: 'true' });
  return new Promise((done) => {
    const child = spawn(TSX, ['lib/cli/main.ts', 'redrive', ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return Attributes?.QueueArn ?? '';
}

async function depth(sqs: SQSClient, url: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

/** A queue with a dead-letter queue after one failed receive (the stack's queues use 30 and 250). */
async function queueWithDeadLetters(sqs: SQSClient, name: string): Promise<{ queue: string; deadLetters: string }> {
  const deadLetters =
    (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq-${randomUUID()}` }))).QueueUrl ?? '';
  const redrive = JSON.stringify({ deadLetterTargetArn: await queueArn(sqs, deadLetters), maxReceiveCount: 1 });
  const queue =
    (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: `${name}-${randomUUID()}`,
          Attributes: { VisibilityTimeout: '1', RedrivePolicy: redrive },
        }),
      )
    ).QueueUrl ?? '';
  return { queue, deadLetters };
}

/** Run a consumer until `done` holds, then stop it. */
async function consumeUntil(
  consumer: SqsTestQueue,
  handler: SqsBatchHandler,
  done: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const mapping = startEventSourceMapping({ consumer, handler, concurrency: 1, waitSeconds: 1 });
  try {
    await waitFor(async () => ((await done()) ? true : undefined), timeoutMs, 200);
  } finally {
    await mapping.stop();
  }
}

/** A URL where nothing listens: the zone is down. */
async function closedUrl(): Promise<string> {
  const server = createServer();
  const url = await listen(server, 0, '127.0.0.1');
  await new Promise((done) => server.close(done));
  return url;
}

describe.skipIf(!motoEndpoint)('redrive: every dead-letter queue back to a working consumer (moto)', () => {
  const sqs = sqsClient();
  const dynamodb = dynamoClient();
  let zone: ZoneEmulator;
  let served: Awaited<ReturnType<typeof serveEmulator>>;
  let down: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    // The handlers' EMF metric lines would fill the test output; their content is tested in notify.test.ts.
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    zone = new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(100) });
    served = await serveEmulator(zone);
    down = await closedUrl();
    env = {
      ...AWS_TEST_ENV,
      TASKS_TABLE: await createTasksTable(dynamodb),
      IDEMPOTENCY_TABLE: await createIdempotencyTable(dynamodb),
      POLL_QUEUE_URL: await createPollQueue(sqs, 1),
      ZONE_TRANSPORT: 'bridge',
      ZONE_BRIDGE_URL: served.url,
      POLL_FIRST_DELAY_SECONDS: '0',
      POLL_MIN_WAIT_SECONDS: '1',
      BUDGET_PER_MINUTE: '0',
      BUDGET_PER_HOUR: '0',
    } as Record<string, string>;
  });
  afterAll(() => served?.close());

  /** Wired as on Lambda, with a logger the test reads. */
  const working = () => ({ ...createDependencies(env, { dynamodb, sqs }), logger: recordingLogger() });
  const zoneDown = () => ({
    ...createDependencies({ ...env, ZONE_BRIDGE_URL: down }, { dynamodb, sqs }),
    logger: recordingLogger(),
  });

  /** Polls the tasks on the stack's poll queue until they end. */
  async function untilDone(jobids: string[]): Promise<void> {
    const deps = { ...pollDependencies(env, { dynamodb, sqs }), logger: recordingLogger() };
    const store = deps.store;
    await consumeUntil(new SqsTestQueue(sqs, env.POLL_QUEUE_URL as string), makePollResultHandler(deps), async () => {
      const tasks = await Promise.all(jobids.map((jobid) => store.get(jobid)));
      return tasks.every((task) => task?.status === 'SUCCEEDED');
    });
  }

  const handledJobids = (logger: ReturnType<typeof recordingLogger>) =>
    logger.lines.map((line) => JSON.parse(line)).filter((line) => line.message === 'create request handled');

  it('create: requests dead-lettered while the zone was down come back to createFromQueue, each created once', async () => {
    const { queue, deadLetters } = await queueWithDeadLetters(sqs, 'create');
    const body = JSON.stringify(DOC_EXAMPLE_REQUEST);
    const keyed = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue,
        MessageBody: body,
        MessageAttributes: { 'idempotency-key': { DataType: 'String', StringValue: `order-${randomUUID()}` } },
      }),
    );
    const unkeyed = await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue,
        MessageBody: JSON.stringify({ ...DOC_EXAMPLE_REQUEST, escape_type: 1 }),
      }),
    );

    // The zone is down: every try fails, and SQS moves both requests to the dead-letter queue.
    const failing = zoneDown();
    await consumeUntil(
      new SqsTestQueue(sqs, queue),
      makeCreateFromQueueHandler(failing),
      async () => (await depth(sqs, deadLetters)) === 2,
    );
    expect(handledJobids(failing.logger)).toEqual([]);
    expect(await depth(sqs, queue)).toBe(0);

    const moved = await redriveCli(['create', '--from', deadLetters, '--to', queue]);
    expect(moved.stderr).not.toMatch(/redrive:|error/i);
    expect(moved.stdout).toBe(`moved 2 messages from ${deadLetters} to ${queue}\n`);
    expect(moved.code).toBe(EXIT.ok);
    expect(await depth(sqs, deadLetters)).toBe(0);

    // An interrupted redrive (sent, not yet deleted) would leave a duplicate: it must not make a second task.
    const unkeyedBody = JSON.stringify({ ...DOC_EXAMPLE_REQUEST, escape_type: 1 });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue,
        MessageBody: unkeyedBody,
        MessageAttributes: { 'idempotency-key': { DataType: 'String', StringValue: unkeyed.MessageId ?? '' } },
      }),
    );

    const before = zone.calls.create_program_task ?? 0;
    const consumer = working();
    const handler = makeCreateFromQueueHandler(consumer);
    const keys: (string | undefined)[] = [];
    await consumeUntil(
      new SqsTestQueue(sqs, queue),
      async (event, context) => {
        keys.push(...event.Records.map((record) => record.messageAttributes['idempotency-key']?.stringValue));
        return handler(event, context);
      },
      async () => handledJobids(consumer.logger).length === 3,
    );
    // Moved with their idempotency keys: the attribute, else the original message id.
    const distinct = [...new Set(keys)];
    expect(distinct).toHaveLength(2);
    expect(distinct).toEqual(expect.arrayContaining([expect.stringMatching(/^order-/), unkeyed.MessageId]));
    expect(keyed.MessageId).not.toBe(unkeyed.MessageId);
    const handled = handledJobids(consumer.logger);
    expect(handled.filter((line) => !line.replayed)).toHaveLength(2);
    expect(handled.filter((line) => line.replayed)).toHaveLength(1);
    expect((zone.calls.create_program_task ?? 0) - before).toBe(2);
    await untilDone([...new Set(handled.map((line) => line.jobid as string))]);

    const again = await redriveCli(['create', '--from', deadLetters, '--to', queue, '--json']);
    expect(JSON.parse(again.stdout)).toEqual({ moved: 0, left: 0, leftReasons: {}, interrupted: false });
  }, 90_000);

  it('events: createFromEvent’s failure records have their own queue; `redrive events` turns them into create requests that createFromQueue creates once', async () => {
    const events = new EventBridgeClient({
      endpoint: motoEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    // A real envelope from moto's EventBridge, through a rule with the stack's pattern (allow-listed source).
    const bus = `orders-${randomUUID()}`;
    await events.send(new CreateEventBusCommand({ Name: bus }));
    const capture = await createPollQueue(sqs);
    await events.send(
      new PutRuleCommand({
        Name: 'create',
        EventBusName: bus,
        EventPattern: JSON.stringify({ source: ['crm.orders'], 'detail-type': [CREATE_DETAIL_TYPE] }),
      }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: 'create',
        EventBusName: bus,
        Targets: [{ Id: 'capture', Arn: await queueArn(sqs, capture) }],
      }),
    );
    await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: bus,
            Source: 'crm.orders',
            DetailType: CREATE_DETAIL_TYPE,
            Detail: JSON.stringify(DOC_EXAMPLE_REQUEST),
          },
          {
            EventBusName: bus,
            Source: 'intruder',
            DetailType: CREATE_DETAIL_TYPE,
            Detail: JSON.stringify(DOC_EXAMPLE_REQUEST),
          },
        ],
      }),
    );
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: capture, MaxNumberOfMessages: 10, WaitTimeSeconds: 2 }),
    );
    expect(Messages).toHaveLength(1); // the rule's source filter kept the intruder out
    const envelope = JSON.parse(Messages[0]?.Body ?? '{}') as EventBridgeEvent<string, unknown>;
    expect(envelope.source).toBe('crm.orders');

    // The function checks the source again, for events that did not come through the rule.
    const allowList = { ...env, CREATE_EVENT_SOURCES: 'crm.orders' };
    const guarded = makeCreateFromEventHandler({
      ...createFromEventDependencies(allowList, { dynamodb, sqs }),
      logger: recordingLogger(),
    });
    expect(await guarded({ ...envelope, source: 'intruder' }, localContext('createFromEvent'))).toMatchObject({
      status: 'rejected',
      error: 'source_not_allowed',
    });

    // The zone is down: the invocation throws, and after Lambda's retries its failure record goes to
    // the on-failure destination, in the shape Lambda documents:
    // https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
    const failing = makeCreateFromEventHandler({
      ...createFromEventDependencies({ ...allowList, ZONE_BRIDGE_URL: down }, { dynamodb, sqs }),
      logger: recordingLogger(),
    });
    const thrown = await failing(envelope, localContext('createFromEvent')).catch((error: Error) => error);
    expect(thrown).toBeInstanceOf(Error);
    const eventsDeadLetters =
      (await sqs.send(new CreateQueueCommand({ QueueName: `events-dlq-${randomUUID()}` }))).QueueUrl ?? '';
    const record = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId: randomUUID(),
        functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:wecom-zone-tasks-prod-createFromEvent:$LATEST',
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      },
      requestPayload: envelope,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: (thrown as Error).name, errorMessage: 'the zone is busy or unreachable' },
    };
    await sqs.send(new SendMessageCommand({ QueueUrl: eventsDeadLetters, MessageBody: JSON.stringify(record) }));

    const { queue } = await queueWithDeadLetters(sqs, 'create');
    // The old recipe (a plain move to the create queue) would hand createFromQueue a record it drops
    // as invalid: `redrive create` refuses that shape and leaves it where it is.
    const wrongKind = await redriveCli(['create', '--from', eventsDeadLetters, '--to', queue]);
    expect(wrongKind.code).toBe(EXIT.ok);
    expect(wrongKind.stdout).toContain('moved 0 messages');
    expect(wrongKind.stdout).toContain('left 1 in the dead-letter queue: not a create request');
    expect(await depth(sqs, eventsDeadLetters)).toBe(1);

    const moved = await redriveCli(['events', '--from', eventsDeadLetters, '--to', queue, '--json']);
    expect(moved.code).toBe(EXIT.ok);
    expect(JSON.parse(moved.stdout)).toEqual({ moved: 1, left: 0, leftReasons: {}, interrupted: false });
    expect(await depth(sqs, eventsDeadLetters)).toBe(0);

    const before = zone.calls.create_program_task ?? 0;
    const consumer = working();
    await consumeUntil(
      new SqsTestQueue(sqs, queue),
      makeCreateFromQueueHandler(consumer),
      async () => handledJobids(consumer.logger).length === 1,
    );
    const [handled] = handledJobids(consumer.logger);
    expect(handled).toMatchObject({ replayed: false });
    expect((zone.calls.create_program_task ?? 0) - before).toBe(1);
    await untilDone([handled.jobid]);
    for (const secret of SECRETS_AND_CHAT) expect(moved.stdout + moved.stderr + wrongKind.stdout).not.toContain(secret);
  }, 90_000);

  it('poll: poll messages dead-lettered by a crashing poller come back to pollResult, and the task ends', async () => {
    const { queue, deadLetters } = await queueWithDeadLetters(sqs, 'poll');
    const pollEnv = { ...env, POLL_QUEUE_URL: queue };
    const creator = { ...createDependencies(pollEnv, { dynamodb, sqs }), logger: recordingLogger() };
    const task = await submitTask(CreateProgramTaskRequestSchema.parse(DOC_EXAMPLE_REQUEST), creator);

    // The poller crashes on every batch (a bad deploy): SQS moves the message to the dead-letter queue.
    await consumeUntil(
      new SqsTestQueue(sqs, queue),
      async () => {
        throw new Error('poller crashed');
      },
      async () => (await depth(sqs, deadLetters)) === 1,
    );
    expect((await creator.store.get(task.jobid))?.status).toBe('PENDING');

    const moved = await redriveCli(['poll', '--from', deadLetters, '--to', queue]);
    expect(moved.code).toBe(EXIT.ok);
    expect(moved.stdout).toBe(`moved 1 message from ${deadLetters} to ${queue}\n`);

    const deps = { ...pollDependencies(pollEnv, { dynamodb, sqs }), logger: recordingLogger() };
    await consumeUntil(
      new SqsTestQueue(sqs, queue),
      makePollResultHandler(deps),
      async () => (await deps.store.get(task.jobid))?.status === 'SUCCEEDED',
    );
    expect(await depth(sqs, deadLetters)).toBe(0);
  }, 90_000);

  it('names what is wrong: an unknown queue is refused (exit 4), a wrong kind is a usage error (exit 1)', async () => {
    const missing = await redriveCli([
      'poll',
      '--from',
      `${motoEndpoint}/123456789012/no-such-queue-${randomUUID()}`,
      '--to',
      env.POLL_QUEUE_URL as string,
    ]);
    expect(missing.code).toBe(EXIT.rejected);
    expect(missing.stderr).toMatch(/redrive: SQS refused the call \(.*\): check the queue URLs/);
    const kind = await redriveCli([
      'tasks',
      '--from',
      env.POLL_QUEUE_URL as string,
      '--to',
      env.POLL_QUEUE_URL as string,
    ]);
    expect(kind.code).toBe(EXIT.usage);
    expect(kind.stderr).toMatch(/unknown kind "tasks"/);
  }, 30_000);
});

describe('the shape each redrive kind accepts', () => {
  const message = (body: unknown, extra: Record<string, unknown> = {}) => ({
    MessageId: randomUUID(),
    Body: typeof body === 'string' ? body : JSON.stringify(body),
    ...extra,
  });

  it('poll takes poll messages only; create takes create requests only; events takes CreateProgramTask failure records only', () => {
    expect(redriveMessage('poll', message({ jobid: 'J1', chain: 2 }))).toMatchObject({
      body: '{"jobid":"J1","chain":2}',
    });
    expect(redriveMessage('poll', message(DOC_EXAMPLE_REQUEST))).toEqual({ left: 'not_a_poll_message' });
    expect(redriveMessage('create', message('{"broken'))).toEqual({ left: 'not_json' });
    expect(redriveMessage('create', message({ jobid: 'J1' }))).toEqual({ left: 'not_a_create_request' });
    const failure = {
      version: '1.0',
      timestamp: 't',
      requestContext: { requestId: 'r', functionArn: 'f', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
    };
    const event = { id: 'e-1', 'detail-type': CREATE_DETAIL_TYPE, source: 'crm.orders', detail: DOC_EXAMPLE_REQUEST };
    expect(redriveMessage('create', message({ ...failure, requestPayload: event }))).toEqual({
      left: 'not_a_create_request',
    });
    expect(redriveMessage('events', message({ ...failure, requestPayload: event }))).toEqual({
      body: JSON.stringify(DOC_EXAMPLE_REQUEST),
      attributes: { 'idempotency-key': { DataType: 'String', StringValue: 'eventbridge:e-1' } },
    });
    expect(
      redriveMessage('events', message({ ...failure, requestPayload: { ...event, 'detail-type': 'Other' } })),
    ).toEqual({ left: 'not_a_create_event_failure' });
    expect(
      redriveMessage('events', message({ ...failure, requestPayload: { ...event, detail: { program_id: 'P' } } })),
    ).toEqual({ left: 'not_a_create_event_failure' });
    expect(redriveMessage('events', message(DOC_EXAMPLE_REQUEST))).toEqual({ left: 'not_a_create_event_failure' });
  });
});
