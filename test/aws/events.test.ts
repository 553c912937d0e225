/**
 * Completion events on EventBridge and the callback secret from SSM, on moto_server.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyCallback } from '../../lib/notify/callback.js';
import { COMPLETION_DETAIL_TYPE, type CompletionEvent } from '../../lib/notify/completion.js';
import { EventBridgePublisher } from '../../lib/notify/eventBridgePublisher.js';
import { callbackPolicy, completionNotifier } from '../../lib/wiring/notifier.js';
import { createPollQueue, motoEndpoint, sqsClient } from '../support/moto.js';

const config = () => ({
  endpoint: motoEndpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

const EVENT: CompletionEvent = {
  jobid: 'job-eb',
  status: 'SUCCEEDED',
  program_id: 'PROG_ID',
  ability_id: 'ABILITY_ID',
  errcode: null,
  response_errcode: 0,
  attempts: 2,
  failed_messages: 0,
  created_at: '2026-11-25T00:00:00.000Z',
  completed_at: '2026-11-25T00:00:05.000Z',
  duration_ms: 5000,
};

describe.skipIf(!motoEndpoint)('completion events and callback secrets on AWS APIs (moto)', () => {
  it('publishes ProgramTaskCompleted to a bus, where a rule routes it to a queue', async () => {
    const events = new EventBridgeClient(config());
    const sqs = sqsClient();
    const bus = `tasks-${randomUUID()}`;
    await events.send(new CreateEventBusCommand({ Name: bus }));
    const queueUrl = await createPollQueue(sqs);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    await events.send(
      new PutRuleCommand({
        Name: 'completed',
        EventBusName: bus,
        EventPattern: JSON.stringify({ source: ['wecom-zone-tasks'], 'detail-type': [COMPLETION_DETAIL_TYPE] }),
      }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: 'completed',
        EventBusName: bus,
        Targets: [{ Id: 'queue', Arn: Attributes?.QueueArn }],
      }),
    );

    await new EventBridgePublisher(events, bus, 'wecom-zone-tasks').publish(EVENT);
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 2 }));
    expect(Messages).toHaveLength(1);
    const envelope = JSON.parse(Messages[0]?.Body ?? '{}');
    expect(envelope).toMatchObject({
      source: 'wecom-zone-tasks',
      'detail-type': COMPLETION_DETAIL_TYPE,
      detail: EVENT,
    });
  });

  it('signs callbacks with the secret read from an SSM SecureString', async () => {
    const ssm = new SSMClient(config());
    const name = `/wecom-zone-tasks/${randomUUID()}/callback-secret`;
    const secret = 'a-secret-only-ssm-knows-1234';
    await ssm.send(new PutParameterCommand({ Name: name, Type: 'SecureString', Value: secret }));
    let valid = false;
    const receiver = createServer(async (request, response) => {
      let body = '';
      for await (const chunk of request) body += String(chunk);
      valid = verifyCallback(
        secret,
        request.headers[TIMESTAMP_HEADER] as string,
        request.headers[SIGNATURE_HEADER] as string,
        body,
      );
      response.writeHead(200).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const env = { CALLBACK_SECRET_PARAM: name };
      expect(callbackPolicy(env)).toEqual({ enabled: true, allowHttp: false, setting: 'CALLBACK_SECRET_PARAM' });
      await completionNotifier(env, { ssm }).callbacks?.deliver(
        `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`,
        EVENT,
      );
      expect(valid).toBe(true);
    } finally {
      receiver.close();
    }
  });
});
