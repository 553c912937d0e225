/**
 * Completion notifications on AWS: EventBridge events and signed callbacks with the secret from SSM.
 * The EventBridge client and Powertools parameters load on first use, so a deployment without them
 * (or a cold start that announces nothing) does not pay for them.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { NotifyEnvSchema } from '../config.js';
import type { CallbackPolicy } from '../notify/callback.js';
import { HttpCallbackSender } from '../notify/callback.js';
import type { CompletionEvent } from '../notify/completion.js';
import type { CompletionNotifier } from '../notify/notifyCompletion.js';
import { secretText } from '../secretText.js';
import { ConfigurationError, parseEnv } from '../shared/env.js';

type Env = Record<string, string | undefined>;

export interface NotifierClients {
  eventBridge?: EventBridgeClient;
  ssm?: SSMClient;
}

/** What the create functions need to know: whether `callback_url` is accepted (https only on AWS). */
export function callbackPolicy(env: Env): CallbackPolicy {
  return {
    enabled: parseEnv(NotifyEnvSchema, env).CALLBACK_SECRET_PARAM !== undefined,
    allowHttp: false,
    setting: 'CALLBACK_SECRET_PARAM',
  };
}

export function completionNotifier(env: Env, clients: NotifierClients = {}): CompletionNotifier {
  const config = parseEnv(NotifyEnvSchema, env);
  const notifier: CompletionNotifier = { maxCallbackAttempts: config.CALLBACK_MAX_ATTEMPTS };
  const busName = config.EVENT_BUS_NAME;
  if (busName) {
    let publisher: Promise<{ publish(event: CompletionEvent): Promise<void> }> | undefined;
    const load = async () => {
      const [{ EventBridgeClient }, { EventBridgePublisher }] = await Promise.all([
        import('@aws-sdk/client-eventbridge'),
        import('../notify/eventBridgePublisher.js'),
      ]);
      return new EventBridgePublisher(clients.eventBridge ?? new EventBridgeClient({}), busName, config.EVENT_SOURCE);
    };
    notifier.publisher = {
      publish: async (event) => {
        publisher ??= load();
        return (await publisher).publish(event);
      },
    };
  }
  const secretName = config.CALLBACK_SECRET_PARAM;
  if (secretName) {
    let parameters:
      | Promise<{ get(name: string, options: { decrypt: boolean; maxAge: number }): Promise<unknown> }>
      | undefined;
    const load = async () => {
      const { SSMProvider } = await import('@aws-lambda-powertools/parameters/ssm');
      return new SSMProvider(clients.ssm ? { awsSdkV3Client: clients.ssm } : {});
    };
    notifier.callbacks = new HttpCallbackSender({
      // Powertools caches the value (5 minutes), so a rotated secret is picked up without a deploy.
      secret: async () => {
        parameters ??= load();
        const value = await (await parameters).get(secretName, { decrypt: true, maxAge: 300 });
        if (typeof value !== 'string' || value === '')
          throw new ConfigurationError(`CALLBACK_SECRET_PARAM: parameter ${secretName} is empty`);
        try {
          return secretText(`CALLBACK_SECRET_PARAM: parameter ${secretName}`, value);
        } catch (error) {
          throw new ConfigurationError((error as Error).message);
        }
      },
    });
  }
  return notifier;
}
