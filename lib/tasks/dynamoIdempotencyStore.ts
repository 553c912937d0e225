/**
 * The DynamoDB adapter of the idempotency store: one item per key digest, claimed with a
 * conditional put, expiring by TTL.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as z from 'zod';
import { type IdempotencyClaim, type IdempotencyStore, type SettledFailure, storedClaim } from './port.js';
import type { SubmittedTask } from './task.js';

/** One key's item, as this adapter writes it; reads are parsed with it. */
const IdempotencyItemSchema = z.object({
  idempotency_key: z.string(),
  fingerprint: z.string(),
  status: z.enum(['IN_PROGRESS', 'COMPLETED', 'FAILED']),
  claimed_at: z.number(),
  expires_at: z.number(),
  /** The 202 body (jobid, status, fail_list without keys), as JSON. */
  response: z.string().optional(),
  /** FAILED: the answer a retry with this key gets (a SettledFailure, as JSON). */
  failure: z.string().optional(),
});
type IdempotencyItem = z.infer<typeof IdempotencyItemSchema>;

/** What a stored item says about its key. */
function claimOf(stored: Record<string, unknown>): IdempotencyClaim {
  const item = IdempotencyItemSchema.parse(stored);
  return storedClaim(item.status, item.fingerprint, item.status === 'FAILED' ? item.failure : item.response);
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
          // Taken: the item as it was says what its owner has done so far, without a second read.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'claimed' };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      if (error.Item !== undefined) return claimOf(unmarshall(error.Item));
    }
    // No item came back (released meanwhile?): look, and claim again if it is free.
    return (await this.get(key)) ?? this.claim(key, fingerprint, now, options);
  }

  async get(key: string): Promise<IdempotencyClaim | undefined> {
    const { Item } = await this.#documents.send(
      new GetCommand({ TableName: this.tableName, Key: { idempotency_key: key }, ConsistentRead: true }),
    );
    return Item === undefined ? undefined : claimOf(Item);
  }

  async complete(key: string, response: SubmittedTask): Promise<void> {
    await this.#settle(key, 'SET #status = :completed, #response = :response', {
      names: { '#response': 'response' },
      values: { ':completed': 'COMPLETED', ':response': JSON.stringify(response) },
    });
  }

  async fail(key: string, failure: SettledFailure): Promise<void> {
    await this.#settle(key, 'SET #status = :failed, failure = :failure', {
      values: { ':failed': 'FAILED', ':failure': JSON.stringify(failure) },
    });
  }

  /**
   * Settle a claimed key. Only an item that exists: an UpdateItem without the condition would create a
   * stray item with no fingerprint and no expiry (never deleted by TTL) for a key released meanwhile;
   * the other adapters update nothing then, and so does this one.
   */
  async #settle(
    key: string,
    update: string,
    { names = {}, values }: { names?: Record<string, string>; values: Record<string, unknown> },
  ): Promise<void> {
    try {
      await this.#documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { idempotency_key: key },
          UpdateExpression: update,
          ConditionExpression: 'attribute_exists(idempotency_key)',
          ExpressionAttributeNames: { '#status': 'status', ...names },
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async release(key: string): Promise<void> {
    await this.#documents.send(new DeleteCommand({ TableName: this.tableName, Key: { idempotency_key: key } }));
  }
}
