/**
 * The call budget on DynamoDB, shared by every Lambda: one counter item per corp and window
 * (`budget#<corp>#<seconds>#<window start>`, in the tasks table, expiring by TTL), taken with a
 * conditional increment. The windows are taken shortest first; if a longer one is spent, the
 * shorter increments are given back, so a refused call never consumes budget.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  type BudgetDecision,
  type BudgetWindow,
  budgetCounterKey as budgetKey,
  byLength,
  type CallBudget,
  counterExpiresAt as expiresAt,
  DEFAULT_BUDGET_WINDOWS,
  windowEnd,
} from './port.js';

export class DynamoCallBudget implements CallBudget {
  readonly windows: readonly BudgetWindow[];
  readonly #documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    /** The tasks table: budget keys contain `#`, which no jobid does. */
    readonly tableName: string,
    windows: readonly BudgetWindow[] = DEFAULT_BUDGET_WINDOWS,
  ) {
    this.windows = byLength(windows);
    this.#documents = DynamoDBDocumentClient.from(client);
  }

  async tryAcquire(corpId: string, now: number): Promise<BudgetDecision> {
    const taken: BudgetWindow[] = [];
    for (const window of this.windows) {
      if (await this.#increment(corpId, window, now)) {
        taken.push(window);
        continue;
      }
      await Promise.all(taken.map((done) => this.#giveBack(corpId, done, now)));
      return { granted: false, retryAt: windowEnd(window, now) };
    }
    return { granted: true };
  }

  async exhaust(corpId: string, now: number): Promise<void> {
    const shortest = this.windows[0];
    if (!shortest) return;
    await this.#documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { jobid: budgetKey(corpId, shortest, now) },
        UpdateExpression: 'SET #count = if_not_exists(#count, :zero) + :rest, expires_at = :expires',
        ExpressionAttributeNames: { '#count': 'count' },
        // Whatever was counted, it now reads at least the limit.
        ExpressionAttributeValues: { ':zero': 0, ':rest': shortest.limit, ':expires': expiresAt(shortest, now) },
      }),
    );
  }

  async #increment(corpId: string, window: BudgetWindow, now: number): Promise<boolean> {
    try {
      await this.#documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobid: budgetKey(corpId, window, now) },
          UpdateExpression: 'ADD #count :one SET expires_at = :expires',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':one': 1, ':limit': window.limit, ':expires': expiresAt(window, now) },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async #giveBack(corpId: string, window: BudgetWindow, now: number): Promise<void> {
    await this.#documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { jobid: budgetKey(corpId, window, now) },
        UpdateExpression: 'ADD #count :minusOne',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: { ':minusOne': -1 },
      }),
    );
  }
}
