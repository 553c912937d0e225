/**
 * The DynamoDB-backed pieces: task store, idempotency store, call budget. Each function builds only
 * what it uses, so its bundle and its cold start carry no more of the AWS SDK than it needs.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoCallBudget } from '../budget/dynamoBudget.js';
import type { CallBudget } from '../budget/port.js';
import { type CommonConfig, IdempotencyEnvSchema, TasksEnvSchema } from '../config.js';
import { parseEnv } from '../shared/env.js';
import { DynamoIdempotencyStore } from '../tasks/dynamoIdempotencyStore.js';
import { DynamoTaskStore } from '../tasks/dynamoStore.js';

type Env = Record<string, string | undefined>;

export function taskStore(env: Env, client: DynamoDBClient = new DynamoDBClient({})): DynamoTaskStore {
  return new DynamoTaskStore(client, parseEnv(TasksEnvSchema, env).TASKS_TABLE);
}

export function idempotencyStore(env: Env, client: DynamoDBClient = new DynamoDBClient({})): DynamoIdempotencyStore {
  return new DynamoIdempotencyStore(client, parseEnv(IdempotencyEnvSchema, env).IDEMPOTENCY_TABLE);
}

/** The per-corp budget counters live in the tasks table; none when the budget is off. */
export function callBudget(
  env: Env,
  common: CommonConfig,
  client: DynamoDBClient = new DynamoDBClient({}),
): CallBudget | undefined {
  if (common.budgetWindows.length === 0) return undefined;
  return new DynamoCallBudget(client, parseEnv(TasksEnvSchema, env).TASKS_TABLE, common.budgetWindows);
}
