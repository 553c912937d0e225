/**
 * `pollResult` on AWS: zone, task store, call budget, the poll queue, completion notifications, metrics.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { CoalescingBudget } from '../budget/coalescingBudget.js';
import { commonConfig } from '../config.js';
import { createLogger } from '../log.js';
import { PowertoolsTaskMetrics } from '../metrics.js';
import type { PollDependencies } from '../poll/pollTask.js';
import { zoneClient } from '../zone/client.js';
import { callBudget, taskStore } from './dynamo.js';
import { completionNotifier, type NotifierClients } from './notifier.js';
import { pollQueue } from './sqs.js';
import { type ZoneClients, zoneAccess } from './zone.js';

export function pollDependencies(
  env: Record<string, string | undefined> = process.env,
  clients: { dynamodb?: DynamoDBClient; sqs?: SQSClient } & ZoneClients & NotifierClients = {},
): PollDependencies {
  const common = commonConfig(env);
  const logger = createLogger();
  const budget = callBudget(env, common, clients.dynamodb);
  return {
    ...common,
    logger,
    store: taskStore(env, clients.dynamodb),
    // The steps of one batch take their corp's calls as one block: one counter write per window.
    budget: budget && new CoalescingBudget(budget),
    queue: pollQueue(env, clients.sqs),
    zone: zoneClient(zoneAccess(env, logger, { ...clients, budget }).transport),
    notifier: completionNotifier(env, clients),
    metrics: new PowertoolsTaskMetrics(),
  };
}
