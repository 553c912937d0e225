/** The SQS poll queue. */
import { SQSClient } from '@aws-sdk/client-sqs';
import { QueueEnvSchema } from '../config.js';
import { SqsPollQueue } from '../queue/sqsQueue.js';
import { parseEnv } from '../shared/env.js';

export function pollQueue(
  env: Record<string, string | undefined>,
  client: SQSClient = new SQSClient({}),
): SqsPollQueue {
  return new SqsPollQueue(client, parseEnv(QueueEnvSchema, env).POLL_QUEUE_URL);
}
