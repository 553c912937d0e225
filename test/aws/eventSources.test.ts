/**
 * Tasks created from events: a real SQS create-requests queue (moto) consumed like Lambda's event
 * source mapping, and EventBridge envelopes as moto's EventBridge delivers them.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_DETAIL_TYPE } from '../../lib/api/schemas.js';
import { makeCreateFromEventHandler } from '../../lib/handlers/createFromEvent.js';
import { makeCreateFromQueueHandler } from '../../lib/handlers/createFromQueue.js';
import { localContext, startEventSourceMapping } from '../../lib/local/eventSourceMapping.js';
import { type LocalStack, startLocalStack } from '../../lib/local/stack.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { DOC_EXAMPLE_REQUEST, recordingLogger, SECRETS_AND_CHAT, waitFor } from '../support/fixtures.js';
import { createPollQueue, motoEndpoint, sqsClient } from '../support/moto.js';
import { SqsTestQueue } from '../support/sqsConsumer.js';

describe.skipIf(!motoEndpoint)('creating tasks from SQS and EventBridge (moto)', () => {
  let zone: ZoneEmulator;
  let stack: LocalStack;
  const logger = recordingLogger();
  beforeAll(async () => {
    zone = new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(100) });
    stack = await startLocalStack({ zone, logger, schedule: { firstDelaySeconds: 0, minWaitSeconds: 1, growth: 0 } });
  });
  afterAll(() => stack.stop());

  it('a create-requests queue: valid messages become tasks once (also when redelivered), invalid ones are dropped by field', async () => {
    const sqs = sqsClient();
    const queueUrl = await createPollQueue(sqs, 1);
    const send = (body: string) => sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    await send(JSON.stringify(DOC_EXAMPLE_REQUEST));
    await send(JSON.stringify({ ...DOC_EXAMPLE_REQUEST, escape_type: 1 }));
    await send(
      JSON.stringify({ ...DOC_EXAMPLE_REQUEST, msg_list: [{ msgid: 'MSGID1', encrypt_info: { secret_key: '' } }] }),
    );
    await send('{"not json');
    const before = zone.calls.create_program_task ?? 0;

    const handler = makeCreateFromQueueHandler(stack.deps);
    let redelivered = false;
    const consumer = new SqsTestQueue(sqs, queueUrl);
    const mapping = startEventSourceMapping({
      consumer,
      concurrency: 1,
      // The first batch is handled, then "lost" (thrown), so SQS delivers the same messages again.
      handler: async (event, context) => {
        const result = await handler(event, context);
        if (!redelivered) {
          redelivered = true;
          throw new Error('invocation lost after the work was done');
        }
        return result;
      },
    });
    try {
      await waitFor(
        async () => (logger.lines.filter((line) => line.includes('create request')).length >= 8 ? true : undefined),
        20_000,
        100,
      );
    } finally {
      await mapping.stop();
    }
    const handled = logger.lines
      .map((line) => JSON.parse(line))
      .filter((line) => line.message === 'create request handled');
    expect(handled.filter((line) => !line.replayed)).toHaveLength(2);
    expect(handled.filter((line) => line.replayed)).toHaveLength(2);
    expect((zone.calls.create_program_task ?? 0) - before).toBe(2);
    const rejected = logger.lines
      .map((line) => JSON.parse(line))
      .filter((line) => line.message.startsWith('create request rejected'));
    expect(rejected.map((line) => line.problem)).toContain(
      'msg_list[0].encrypt_info.secret_key: must be a non-empty string',
    );
    expect(rejected.map((line) => line.problem)).toContain('the message body is not valid JSON');
    for (const secret of SECRETS_AND_CHAT) expect(logger.lines.join('\n')).not.toContain(secret);
    const jobids = [...new Set(handled.map((line) => line.jobid as string))];
    await waitFor(
      async () =>
        (await Promise.all(jobids.map((id) => stack.store.get(id)))).every((t) => t?.status === 'SUCCEEDED')
          ? true
          : undefined,
      20_000,
      100,
    );
  });

  it('CreateProgramTask events, as EventBridge delivers them, create one task per event id', async () => {
    const config = {
      endpoint: motoEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    };
    const events = new EventBridgeClient(config);
    const sqs = sqsClient();
    const bus = `upstream-${randomUUID()}`;
    await events.send(new CreateEventBusCommand({ Name: bus }));
    const capture = await createPollQueue(sqs);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: capture, AttributeNames: ['QueueArn'] }),
    );
    await events.send(
      new PutRuleCommand({
        Name: 'create',
        EventBusName: bus,
        EventPattern: JSON.stringify({ 'detail-type': [CREATE_DETAIL_TYPE] }),
      }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: 'create',
        EventBusName: bus,
        Targets: [{ Id: 'capture', Arn: Attributes?.QueueArn }],
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
            Source: 'crm.orders',
            DetailType: CREATE_DETAIL_TYPE,
            Detail: JSON.stringify({ ...DOC_EXAMPLE_REQUEST, program_id: 'NOPE' }),
          },
        ],
      }),
    );
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: capture, MaxNumberOfMessages: 10, WaitTimeSeconds: 2 }),
    );
    expect(Messages).toHaveLength(2);
    const envelopes = Messages.map((m) => JSON.parse(m.Body ?? '{}') as EventBridgeEvent<string, unknown>);

    const handler = makeCreateFromEventHandler(stack.deps);
    const before = zone.calls.create_program_task ?? 0;
    const outcomes = [];
    for (const envelope of [...envelopes, ...envelopes])
      outcomes.push(await handler(envelope, localContext('createFromEvent')));
    const created = outcomes.filter((outcome) => outcome.status === 'created');
    expect(created).toHaveLength(2);
    expect(new Set(created.map((outcome) => outcome.status === 'created' && outcome.task.jobid)).size).toBe(1);
    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([
      { status: 'rejected', error: 'zone_rejected', message: 'program NOPE not found', errcode: 800001 },
      { status: 'rejected', error: 'zone_rejected', message: 'program NOPE not found', errcode: 800001 },
    ]);
    expect((zone.calls.create_program_task ?? 0) - before).toBe(3);
  });
});
