/**
 * SQS batches through `@middy/sqs-partial-batch-failure` (`lib/queue/batchItemFailures.ts`): the
 * records that rejected are reported, the others let go, and nothing of a record reaches a log.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sqsBatchHandler } from '../../lib/queue/batchItemFailures.js';

const SECRET = 'SECRETKEY-must-not-be-logged';

function record(messageId: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: JSON.stringify({ msg_list: [{ msgid: messageId, encrypt_info: { secret_key: SECRET } }] }),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:local:000000000000:test',
    awsRegion: 'local',
  };
}

const context = { functionName: 'createFromQueue' } as Context;

describe('SQS batch item failures', () => {
  let written: string[];
  beforeEach(() => {
    written = [];
    const capture = (chunk: unknown) => {
      written.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        written.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
      });
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('reports exactly the records that rejected, in any order of settling, and logs nothing of them', async () => {
    const handler = sqsBatchHandler([], () => async (message) => {
      if (message.messageId.startsWith('bad')) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        throw new Error(`cannot handle ${message.body}`);
      }
    });
    const event: SQSEvent = { Records: [record('ok-1'), record('bad-1'), record('ok-2'), record('bad-2')] };
    expect(await handler(event, context)).toEqual({
      batchItemFailures: [{ itemIdentifier: 'bad-1' }, { itemIdentifier: 'bad-2' }],
    });
    expect(written.join('\n')).not.toContain(SECRET);
    expect(written.join('\n')).not.toContain('bad-1');
  });

  it('lets a whole batch go when every record is done', async () => {
    const handler = sqsBatchHandler([], () => async () => undefined);
    expect(await handler({ Records: [record('a'), record('b')] }, context)).toEqual({ batchItemFailures: [] });
  });

  it('reports every record when the batch itself fails, without logging them', async () => {
    const handler = sqsBatchHandler([], () => {
      throw new Error('no dependencies');
    });
    expect(await handler({ Records: [record('x'), record('y')] }, context)).toEqual({
      batchItemFailures: [{ itemIdentifier: 'x' }, { itemIdentifier: 'y' }],
    });
    expect(written.join('\n')).not.toContain(SECRET);
  });
});
