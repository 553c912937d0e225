/** `sweepOverdue` on AWS: the task store and the poll queue. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { commonConfig } from '../config.js';
import { createLogger } from '../log.js';
import type { SweepDependencies } from '../poll/sweep.js';
import { taskStore } from './dynamo.js';
import { pollQueue } from './sqs.js';

export function sweepDependencies(
  env: Record<string, string | undefined> = process.env,
  clients: { dynamodb?: DynamoDBClient; sqs?: SQSClient } = {},
): SweepDependencies {
  return {
    ...commonConfig(env),
    logger: createLogger(),
    store: taskStore(env, clients.dynamodb),
    queue: pollQueue(env, clients.sqs),
  };
}
