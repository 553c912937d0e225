/**
 * Real DynamoDB and SQS APIs from moto_server (started by motoGlobalSetup.ts).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, type CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { parse } from 'yaml';
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

/**
 * The key schema, attributes, indexes and billing mode of a table, read from `serverless.yml`'s
 * resources (not copied: a change there reaches every moto test). The template's other properties
 * (TTL, point-in-time recovery, encryption, deletion protection) are separate APIs or moto-irrelevant.
 */
function tableDefinition(resource: 'TasksTable' | 'IdempotencyTable') {
  // CloudFormation's short tags (!Ref, !GetAtt …) are unknown to a YAML parser: read as plain values
  // (logLevel 'error' keeps their warnings quiet); the tables use none.
  const template = parse(readFileSync(SERVERLESS_YML, 'utf8'), { logLevel: 'error' });
  const properties = template?.resources?.Resources?.[resource]?.Properties;
  if (!properties?.KeySchema || !properties.AttributeDefinitions) {
    throw new Error(`serverless.yml: resources.Resources.${resource}.Properties has no KeySchema/AttributeDefinitions`);
  }
  const { AttributeDefinitions, KeySchema, GlobalSecondaryIndexes, BillingMode } = properties;
  return { AttributeDefinitions, KeySchema, GlobalSecondaryIndexes, BillingMode } as Omit<
    CreateTableCommandInput,
    'TableName'
  >;
}

const SERVERLESS_YML = fileURLToPath(new URL('../../serverless.yml', import.meta.url));

/** The tasks table as serverless.yml declares it. */
export async function createTasksTable(client: DynamoDBClient): Promise<string> {
  const name = `tasks-${randomUUID()}`;
  const definition = tableDefinition('TasksTable');
  const indexes = (definition.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName);
  // The adapter queries this index by name: the template must declare it.
  if (!indexes.includes(PENDING_INDEX)) {
    throw new Error(`serverless.yml: TasksTable has no index ${PENDING_INDEX} (it has ${indexes.join(', ')})`);
  }
  await client.send(new CreateTableCommand({ TableName: name, ...definition }));
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
  await client.send(new CreateTableCommand({ TableName: name, ...tableDefinition('IdempotencyTable') }));
  return name;
}
