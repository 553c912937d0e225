/**
 * The consumer side of an SQS queue for tests: what Lambda's event source mapping does on AWS
 * (ReceiveMessage, DeleteMessage), with records shaped as the mapping delivers them. Not part of the
 * production adapter (`lib/queue/sqsQueue.ts`), whose functions never receive or delete themselves.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import type { PollQueue, QueueConsumer } from '../../lib/queue/port.js';
import { SqsPollQueue } from '../../lib/queue/sqsQueue.js';

/** The production SQS adapter plus receive and delete, for tests that consume the queue themselves. */
export class SqsTestQueue extends SqsPollQueue implements PollQueue, QueueConsumer {
  constructor(
    client: SQSClient,
    queueUrl: string,
    /** The records' `eventSourceARN` (moto's queues have ARNs, but nothing here reads it). */
    readonly queueArn = 'arn:aws:sqs:local:000000000000:poll',
  ) {
    super(client, queueUrl);
  }

  async receive(maxMessages: number, waitSeconds: number): Promise<SQSRecord[]> {
    const { Messages = [] } = await this.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: maxMessages,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        // As Lambda's event source mapping delivers them (createFromQueue reads `idempotency-key`).
        MessageAttributeNames: ['All'],
      }),
    );
    return Messages.map((message) => ({
      messageId: message.MessageId ?? '',
      receiptHandle: message.ReceiptHandle ?? '',
      body: message.Body ?? '',
      attributes: {
        ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
        SentTimestamp: message.Attributes?.SentTimestamp ?? '0',
        SenderId: message.Attributes?.SenderId ?? '',
        ApproximateFirstReceiveTimestamp: message.Attributes?.ApproximateFirstReceiveTimestamp ?? '0',
      },
      messageAttributes: Object.fromEntries(
        Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
          name,
          {
            dataType: value.DataType ?? 'String',
            ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
            ...(value.BinaryValue !== undefined
              ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
              : {}),
            stringListValues: [],
            binaryListValues: [],
          },
        ]),
      ),
      md5OfBody: message.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.queueArn,
      awsRegion: 'local',
    }));
  }

  async delete(receiptHandle: string): Promise<void> {
    await this.client.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle }));
  }
}
