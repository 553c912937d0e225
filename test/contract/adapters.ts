/**
 * The adapters every port contract suite runs on: in memory, on the durable local SQLite database,
 * and on the AWS APIs (moto_server). One suite per port, parameterised by these factories.
 */

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll } from 'vitest';
import { LocalDatabase } from '../../lib/shared/database.js';
import { motoEndpoint } from '../support/moto.js';

/** Where a suite runs: its name, whether it can run here, and whether it deletes expired records itself. */
export interface AdapterKind {
  name: string;
  available: boolean;
  /** Local adapters delete expired records themselves; on AWS, DynamoDB TTL and SQS retention do. */
  purgesItself: boolean;
}

export const MEMORY: AdapterKind = { name: 'memory', available: true, purgesItself: true };
export const SQLITE: AdapterKind = { name: 'SQLite (durable local)', available: true, purgesItself: true };
/**
 * Racing calls really race here: the suite's moto serialises DynamoDB calls as DynamoDB applies each
 * conditional write atomically (`test/support/moto_server_serialized.py`); a plain threaded
 * moto_server at MOTO_ENDPOINT lets two writes pass the same condition now and then.
 */
export const AWS: AdapterKind = {
  name: 'AWS API (moto_server)',
  available: Boolean(motoEndpoint),
  purgesItself: false,
};

/** `count` concurrent calls. */
export function race<T>(count: number, call: (index: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => call(index)));
}

const opened: { db: LocalDatabase; dir: string }[] = [];
afterAll(() => {
  for (const { db, dir } of opened.splice(0)) {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A fresh database in a temporary data directory, closed and removed after the file's tests. */
export function tempDatabase(): LocalDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'wzt-contract-'));
  const db = LocalDatabase.open({ dataDir: dir });
  opened.push({ db, dir });
  return db;
}

/** An SQS queue with a dead-letter queue after `maxReceiveCount` receives, as serverless.yml declares the poll queue. */
export async function createQueueWithDeadLetters(
  client: SQSClient,
  options: { visibilityTimeoutSeconds: number; maxReceiveCount: number },
): Promise<{ queueUrl: string; deadLetterUrl: string }> {
  const { QueueUrl: deadLetterUrl } = await client.send(
    new CreateQueueCommand({ QueueName: `poll-dlq-${randomUUID()}` }),
  );
  if (!deadLetterUrl) throw new Error('moto created no queue');
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ['QueueArn'] }),
  );
  const { QueueUrl: queueUrl } = await client.send(
    new CreateQueueCommand({
      QueueName: `poll-${randomUUID()}`,
      Attributes: {
        VisibilityTimeout: String(options.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: Attributes?.QueueArn,
          maxReceiveCount: options.maxReceiveCount,
        }),
      },
    }),
  );
  if (!queueUrl) throw new Error('moto created no queue');
  return { queueUrl, deadLetterUrl };
}

/** The bodies in a dead-letter queue (received once, so they stay for the next look only after their visibility). */
export async function deadLetterBodies(client: SQSClient, deadLetterUrl: string): Promise<string[]> {
  const { Messages = [] } = await client.send(
    new ReceiveMessageCommand({ QueueUrl: deadLetterUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
  );
  return Messages.map((message) => message.Body ?? '');
}

/** The most calls among `times` (ascending, epoch ms) in any half-open span of `spanMs`, wherever it starts. */
export function busiestSpan(times: number[], spanMs: number): number {
  let most = 0;
  let from = 0;
  for (let to = 0; to < times.length; to++) {
    while ((times[from] ?? 0) <= (times[to] ?? 0) - spanMs) from++;
    most = Math.max(most, to - from + 1);
  }
  return most;
}
