/**
 * Real DynamoDB and SQS APIs from moto_server (started by motoGlobalSetup.ts).
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { PENDING_INDEX } from '../../lib/tasks/dynamoStore.js';

export const motoEndpoint = inject('motoEndpoint');
export const motoSkipReason = inject('motoSkipReason');
if (!motoEndpoint)
  console.warn(
    `Skipping the AWS adapter tests: ${motoSkipReason}. Run them with moto_server on PATH or MOTO_ENDPOINT set.`,
  );

export const AWS_TEST_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_ENDPOINT_URL: motoEndpoint,
};

const clientConfig = () => ({
  endpoint: motoEndpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

export const dynamoClient = () => new DynamoDBClient(clientConfig());
export const sqsClient = () => new SQSClient(clientConfig());

/** The tasks table as serverless.yml declares it. */
export async function createTasksTable(client: DynamoDBClient): Promise<string> {
  const name = `tasks-${randomUUID()}`;
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'jobid', AttributeType: 'S' },
        { AttributeName: 'pending_shard', AttributeType: 'S' },
        { AttributeName: 'next_poll_at', AttributeType: 'N' },
      ],
      KeySchema: [{ AttributeName: 'jobid', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: PENDING_INDEX,
          KeySchema: [
            { AttributeName: 'pending_shard', KeyType: 'HASH' },
            { AttributeName: 'next_poll_at', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  return name;
}

export async function createPollQueue(client: SQSClient, visibilityTimeoutSeconds = 30): Promise<string> {
  const { QueueUrl } = await client.send(
    new CreateQueueCommand({
      QueueName: `poll-${randomUUID()}`,
      Attributes: { VisibilityTimeout: String(visibilityTimeoutSeconds) },
    }),
  );
  if (!QueueUrl) throw new Error('moto created no queue');
  return QueueUrl;
}

/** Counts calls of one SQS command through the client's middleware stack: real calls, counted. */
export function countCommands(client: SQSClient, commandName: string): { count: number } {
  const counter = { count: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === commandName) counter.count += 1;
      return next(args);
    },
    { step: 'initialize', name: `count-${commandName}-${randomUUID()}` },
  );
  return counter;
}

/** The idempotency table as serverless.yml declares it. */
export async function createIdempotencyTable(client: DynamoDBClient): Promise<string> {
  const name = `idempotency-${randomUUID()}`;
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'idempotency_key', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'idempotency_key', KeyType: 'HASH' }],
    }),
  );
  return name;
}
