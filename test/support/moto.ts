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
if (!motoEndpoint) console.warn(`Skipping the AWS adapter tests: ${motoSkipReason}. Run them with moto_server on PATH or MOTO_ENDPOINT set.`);

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

/**
 * A DynamoDB client whose requests reach moto one at a time. DynamoDB applies each conditional write
 * to an item atomically; moto_server does not (its threads interleave a condition and its update),
 * so tests of concurrent callers go through this serialising proxy: the callers still interleave
 * their reads and writes freely, but every single request is atomic, as on DynamoDB.
 */
export async function atomicDynamoClient(): Promise<{ client: DynamoDBClient; close(): Promise<void> }> {
  const { createServer, request } = await import('node:http');
  const target = new URL(motoEndpoint ?? 'http://127.0.0.1:0');
  let queue: Promise<void> = Promise.resolve();
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      queue = queue.then(
        () =>
          new Promise<void>((done) => {
            const forward = request(
              { host: target.hostname, port: target.port, path: incoming.url, method: incoming.method, headers: incoming.headers },
              (answer) => {
                outgoing.writeHead(answer.statusCode ?? 500, answer.headers);
                answer.pipe(outgoing);
                answer.on('end', () => done());
              },
            );
            forward.on('error', () => {
              outgoing.destroy();
              done();
            });
            forward.end(Buffer.concat(chunks));
          }),
      );
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', () => listening()));
  const { port } = server.address() as import('node:net').AddressInfo;
  const client = new DynamoDBClient({ ...clientConfig(), endpoint: `http://127.0.0.1:${port}` });
  return {
    client,
    close: () =>
      new Promise<void>((closed) => {
        client.destroy();
        server.close(() => closed());
        server.closeAllConnections();
      }),
  };
}
