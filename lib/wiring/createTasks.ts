/**
 * The functions that create tasks on AWS (`createTask`, `createFromQueue`, `createFromEvent`): zone,
 * task store, idempotency, call budget, poll queue, metrics.
 *
 * @example
 * export const handler = makeCreateTaskHandler(createDependencies());
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { CreateEventSourcesEnvSchema, commonConfig } from '../config.js';
import type { SubmitDependencies } from '../create/submitTask.js';
import { createLogger } from '../log.js';
import { PowertoolsTaskMetrics } from '../metrics.js';
import type { CallbackPolicy } from '../notify/callback.js';
import { parseEnv } from '../shared/env.js';
import type { IdempotencyDependencies } from '../tasks/idempotency.js';
import { zoneClient } from '../zone/client.js';
import { callBudget, idempotencyStore, taskStore } from './dynamo.js';
import { callbackPolicy } from './notifier.js';
import { pollQueue } from './sqs.js';
import { type ZoneClients, zoneAccess } from './zone.js';

export type CreateDependencies = SubmitDependencies & IdempotencyDependencies & { callbackPolicy: CallbackPolicy };

export function createDependencies(
  env: Record<string, string | undefined> = process.env,
  clients: { dynamodb?: DynamoDBClient; sqs?: SQSClient } & ZoneClients = {},
): CreateDependencies {
  const common = commonConfig(env);
  const logger = createLogger();
  const budget = callBudget(env, common, clients.dynamodb);
  const zone = zoneAccess(env, logger, { ...clients, budget });
  return {
    ...common,
    logger,
    store: taskStore(env, clients.dynamodb),
    idempotency: idempotencyStore(env, clients.dynamodb),
    budget,
    queue: pollQueue(env, clients.sqs),
    zone: zoneClient(zone.transport),
    corps: zone.corps,
    metrics: new PowertoolsTaskMetrics(),
    callbackPolicy: callbackPolicy(env),
  };
}

/**
 * `createFromEvent` on AWS: as {@link createDependencies}, plus the event sources it accepts
 * (CREATE_EVENT_SOURCES, the list serverless.yml also puts in the rule's pattern).
 */
export function createFromEventDependencies(
  env: Record<string, string | undefined> = process.env,
  clients: { dynamodb?: DynamoDBClient; sqs?: SQSClient } & ZoneClients = {},
): CreateDependencies & { allowedSources?: readonly string[] } {
  return {
    ...createDependencies(env, clients),
    allowedSources: parseEnv(CreateEventSourcesEnvSchema, env).CREATE_EVENT_SOURCES,
  };
}
