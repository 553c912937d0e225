/**
 * The dependencies of the Lambda functions on AWS: DynamoDB, SQS and the zone over the HTTP bridge.
 * Built once per container, at module scope of each function.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { CallbackPolicy } from '../api/routes.js';
import { AwsEnvSchema, ConfigurationError, commonConfig, parseEnv } from '../config.js';
import { DynamoCallBudget } from '../budget/dynamoBudget.js';
import { PowertoolsTaskMetrics } from '../metrics.js';
import { HttpCallbackSender } from '../notify/callback.js';
import { EventBridgePublisher } from '../notify/eventBridgePublisher.js';
import type { CompletionNotifier } from '../notify/notifyCompletion.js';
import { createLogger } from '../log.js';
import type { PollDependencies } from '../poll/pollTask.js';
import type { SweepDependencies } from '../poll/sweep.js';
import { SqsPollQueue } from '../queue/sqsQueue.js';
import { DynamoTaskStore } from '../tasks/dynamoStore.js';
import { DynamoIdempotencyStore } from '../tasks/dynamoIdempotencyStore.js';
import type { IdempotencyDependencies } from '../tasks/idempotency.js';
import type { SubmitDependencies } from '../tasks/submitTask.js';
import { zoneClient } from '../zone/client.js';
import { HttpZoneTransport } from '../zone/httpTransport.js';

export type AwsDependencies = SubmitDependencies &
  PollDependencies &
  SweepDependencies &
  IdempotencyDependencies & { callbackPolicy: CallbackPolicy };

/**
 * @example
 * export const handler = makeCreateTaskHandler(awsDependencies());
 */
export function awsDependencies(
  env: Record<string, string | undefined> = process.env,
  clients: { dynamodb?: DynamoDBClient; sqs?: SQSClient; eventBridge?: EventBridgeClient; ssm?: SSMClient } = {},
): AwsDependencies {
  const config = parseEnv(AwsEnvSchema, env);
  const common = commonConfig(env);
  const dynamodb = clients.dynamodb ?? new DynamoDBClient({});
  const notifier: CompletionNotifier = { maxCallbackAttempts: config.CALLBACK_MAX_ATTEMPTS };
  if (config.EVENT_BUS_NAME) {
    notifier.publisher = new EventBridgePublisher(clients.eventBridge ?? new EventBridgeClient({}), config.EVENT_BUS_NAME, config.EVENT_SOURCE);
  }
  const secretName = config.CALLBACK_SECRET_PARAM;
  if (secretName) {
    // Powertools caches the value (5 minutes), so a rotated secret is picked up without a deploy.
    const parameters = new SSMProvider(clients.ssm ? { awsSdkV3Client: clients.ssm } : {});
    notifier.callbacks = new HttpCallbackSender({
      secret: async () => {
        const value = await parameters.get(secretName, { decrypt: true, maxAge: 300 });
        if (!value) throw new ConfigurationError(`CALLBACK_SECRET_PARAM: parameter ${secretName} is empty`);
        return value;
      },
    });
  }
  return {
    ...common,
    budget: common.budgetWindows.length > 0 ? new DynamoCallBudget(dynamodb, config.TASKS_TABLE, common.budgetWindows) : undefined,
    metrics: new PowertoolsTaskMetrics(),
    notifier,
    callbackPolicy: { enabled: secretName !== undefined, allowHttp: false },
    store: new DynamoTaskStore(dynamodb, config.TASKS_TABLE),
    idempotency: new DynamoIdempotencyStore(dynamodb, config.IDEMPOTENCY_TABLE),
    queue: new SqsPollQueue(clients.sqs ?? new SQSClient({}), config.POLL_QUEUE_URL),
    zone: zoneClient(
      new HttpZoneTransport({
        baseUrl: config.ZONE_BRIDGE_URL,
        timeoutMs: config.ZONE_TIMEOUT_MS,
        bearerToken: config.ZONE_BRIDGE_TOKEN,
      }),
    ),
    logger: createLogger(),
  };
}
