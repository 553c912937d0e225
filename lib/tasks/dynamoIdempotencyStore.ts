/**
 * The DynamoDB adapter of the idempotency store: one item per key digest, claimed with a
 * conditional put, expiring by TTL.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type IdempotencyClaim, type IdempotencyStore, type SettledFailure, SettledFailureSchema } from './port.js';
import type { SubmittedTask } from './submitTask.js';

interface IdempotencyItem {
  idempotency_key: string;
  fingerprint: string;
  status: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  claimed_at: number;
  expires_at: number;
  /** The 202 body (jobid, status, fail_list without keys). */
  response?: string;
  /** FAILED: the answer a retry with this key gets (a SettledFailure, as JSON). */
  failure?: string;
}

export class DynamoIdempotencyStore implements IdempotencyStore {
  readonly #documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    readonly tableName: string,
  ) {
    this.#documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async claim(
    key: string,
    fingerprint: string,
    now: number,
    options: { staleAfterMs: number; expiresAt: number },
  ): Promise<IdempotencyClaim> {
    const item: IdempotencyItem = {
      idempotency_key: key,
      fingerprint,
      status: 'IN_PROGRESS',
      claimed_at: now,
      expires_at: options.expiresAt,
    };
    try {
      await this.#documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          // Free, expired (TTL deletion lags), or left IN_PROGRESS by a request that died.
          ConditionExpression:
            'attribute_not_exists(idempotency_key) OR expires_at <= :nowSeconds OR (#status = :inProgress AND claimed_at <= :staleBefore)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':nowSeconds': Math.floor(now / 1000),
            ':inProgress': 'IN_PROGRESS',
            ':staleBefore': now - options.staleAfterMs,
          },
        }),
      );
      return { kind: 'claimed' };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // Taken: report what the owner has done so far (it may have been released meanwhile: claim again).
    return (await this.get(key)) ?? this.claim(key, fingerprint, now, options);
  }

  async get(key: string): Promise<IdempotencyClaim | undefined> {
    const { Item } = await this.#documents.send(
      new GetCommand({ TableName: this.tableName, Key: { idempotency_key: key }, ConsistentRead: true }),
    );
    const item = Item as IdempotencyItem | undefined;
    if (!item) return undefined;
    if (item.status === 'FAILED' && item.failure) {
      return {
        kind: 'failed',
        fingerprint: item.fingerprint,
        failure: SettledFailureSchema.parse(JSON.parse(item.failure)),
      };
    }
    return item.status === 'COMPLETED' && item.response
      ? { kind: 'completed', fingerprint: item.fingerprint, response: JSON.parse(item.response) as SubmittedTask }
      : { kind: 'in_progress', fingerprint: item.fingerprint };
  }

  async complete(key: string, response: SubmittedTask): Promise<void> {
    await this.#documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { idempotency_key: key },
        UpdateExpression: 'SET #status = :completed, #response = :response',
        ExpressionAttributeNames: { '#status': 'status', '#response': 'response' },
        ExpressionAttributeValues: { ':completed': 'COMPLETED', ':response': JSON.stringify(response) },
      }),
    );
  }

  async fail(key: string, failure: SettledFailure): Promise<void> {
    await this.#documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { idempotency_key: key },
        UpdateExpression: 'SET #status = :failed, failure = :failure',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':failed': 'FAILED', ':failure': JSON.stringify(failure) },
      }),
    );
  }

  async release(key: string): Promise<void> {
    await this.#documents.send(new DeleteCommand({ TableName: this.tableName, Key: { idempotency_key: key } }));
  }
}
