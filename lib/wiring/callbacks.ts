/**
 * `wecomCallback` on AWS: WeCom's command callback of the provider's suites (lib/corps/callback.ts),
 * over the corp directory in SSM (WECOM_CORPS_PARAM_PREFIX) and the call budget (token and
 * permanent-code requests count against the suite's and the corp's budgets).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { commonConfig } from '../config.js';
import type { CallbackReceiver } from '../corps/callback.js';
import { createLogger, type Log } from '../log.js';
import { ConfigurationError } from '../shared/env.js';
import { callBudget } from './dynamo.js';
import { suiteCallbacks } from './suiteCallbacks.js';
import { zoneAccess } from './zone.js';

export interface CallbackDependencies {
  callbacks: CallbackReceiver;
  logger: Log;
}

/**
 * @throws {ConfigurationError} the stage has no corp directory (WECOM_CORPS_PARAM_PREFIX): no suite to call back
 */
export function callbackDependencies(
  env: Record<string, string | undefined> = process.env,
  clients: { dynamodb?: DynamoDBClient; ssm?: SSMClient } = {},
): CallbackDependencies {
  const common = commonConfig(env);
  const logger = createLogger();
  const budget = callBudget(env, common, clients.dynamodb);
  const access = zoneAccess(env, logger, { ...clients, budget });
  const callbacks = suiteCallbacks(access, logger);
  if (!callbacks)
    throw new ConfigurationError(
      'invalid configuration: WECOM_CORPS_PARAM_PREFIX: required for the WeCom callback route',
    );
  return { callbacks, logger };
}
