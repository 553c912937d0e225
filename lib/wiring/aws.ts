/**
 * The dependencies of the Lambda functions on AWS: DynamoDB, SQS and the zone over the HTTP bridge.
 * Built once per container, at module scope of each function.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { AwsEnvSchema, commonConfig, parseEnv } from '../config.js';
import { createLogger } from '../log.js';
import type { PollDependencies } from '../poll/pollTask.js';
import type { SweepDependencies } from '../poll/sweep.js';
import { SqsPollQueue } from '../queue/sqsQueue.js';
import { DynamoTaskStore } from '../tasks/dynamoStore.js';
import { DynamoIdempotencyStore } from '../tasks/dynamoIdempotencyStore.js';
import type { IdempotencyDependencies } from '../tasks/idempotency.js';
import type { SubmitDependencies } from '../tasks/submitTask.js';
import { zoneClient } from '../zone/client.js';
import { HttpZoneTransport } from '../zone/httpTransport.js';

export type AwsDependencies = SubmitDependencies & PollDependencies & SweepDependencies & IdempotencyDependencies;

/**
 * @example
 * export const handler = makeCreateTaskHandler(awsDependencies());
 */
export function awsDependencies(
  env: Record<string, string | undefined> = process.env,
  clients: { dynamodb?: DynamoDBClient; sqs?: SQSClient } = {},
): AwsDependencies {
  const config = parseEnv(AwsEnvSchema, env);
  const common = commonConfig(env);
  const dynamodb = clients.dynamodb ?? new DynamoDBClient({});
  return {
    ...common,
    store: new DynamoTaskStore(dynamodb, config.TASKS_TABLE),
    idempotency: new DynamoIdempotencyStore(dynamodb, config.IDEMPOTENCY_TABLE),
    queue: new SqsPollQueue(clients.sqs ?? new SQSClient({}), config.POLL_QUEUE_URL),
    zone: zoneClient(
      new HttpZoneTransport({
        baseUrl: config.ZONE_BRIDGE_URL,
        timeoutMs: config.ZONE_TIMEOUT_MS,
        bearerToken: config.ZONE_BRIDGE_TOKEN,
      }),
    ),
    logger: createLogger(),
  };
}
