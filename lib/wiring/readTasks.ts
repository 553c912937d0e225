/** `getTask` on AWS: the task store and a logger, nothing else. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createLogger, type Log } from '../log.js';
import type { TaskStore } from '../tasks/port.js';
import { taskStore } from './dynamo.js';

export function readDependencies(
  env: Record<string, string | undefined> = process.env,
  clients: { dynamodb?: DynamoDBClient } = {},
): {
  store: TaskStore;
  logger: Log;
} {
  return { store: taskStore(env, clients.dynamodb), logger: createLogger() };
}
