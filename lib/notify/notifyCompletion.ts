/**
 * Telling the world a task ended, at least once: the EventBridge event, then the callback. Each
 * success is recorded on the task; until both are done (or the callback is abandoned after
 * `maxCallbackAttempts`), the task's poll message is kept and comes back to try again. Consumers
 * may therefore see an event or a callback twice: deduplicate on jobid.
 */
import type { Log } from '../log.js';
import { errorKind } from '../log.js';
import type { TaskStore } from '../tasks/store.js';
import type { TaskRecord } from '../tasks/task.js';
import type { CallbackSender } from './callback.js';
import { type CompletionPublisher, completionEvent } from './completion.js';

export interface CompletionNotifier {
  publisher?: CompletionPublisher;
  callbacks?: CallbackSender;
  /** Deliveries of one callback before giving up (default 8: about 8 minutes of backoff). */
  maxCallbackAttempts?: number;
}

export interface NotifyDependencies {
  store: TaskStore;
  notifier?: CompletionNotifier;
  logger: Log;
  now?: () => number;
}

export const DEFAULT_MAX_CALLBACK_ATTEMPTS = 8;

/** Done, or try again after `retryInSeconds`. */
export type NotifyResult = { done: true } | { done: false; retryInSeconds: number };

export async function notifyCompletion(task: TaskRecord, deps: NotifyDependencies): Promise<NotifyResult> {
  const { notifier } = deps;
  if (!notifier) return { done: true };
  const at = () => new Date((deps.now ?? Date.now)()).toISOString();
  const event = completionEvent(task);

  if (notifier.publisher && !task.event_published_at) {
    try {
      await notifier.publisher.publish(event);
      await deps.store.recordNotification(task.jobid, { event_published_at: at() });
    } catch (error) {
      deps.logger.warn('completion event not published; will retry', { jobid: task.jobid, error: errorKind(error) });
      return { done: false, retryInSeconds: 5 };
    }
  }

  const wantsCallback = task.callback_url && notifier.callbacks && !task.callback_delivered_at && !task.callback_abandoned;
  if (!wantsCallback || !task.callback_url || !notifier.callbacks) return { done: true };
  const attempts = (task.callback_attempts ?? 0) + 1;
  try {
    await notifier.callbacks.deliver(task.callback_url, event);
    await deps.store.recordNotification(task.jobid, { callback_delivered_at: at(), callback_attempts: attempts });
    deps.logger.info('completion callback delivered', { jobid: task.jobid, attempts });
    return { done: true };
  } catch (error) {
    const max = notifier.maxCallbackAttempts ?? DEFAULT_MAX_CALLBACK_ATTEMPTS;
    const abandoned = attempts >= max;
    await deps.store.recordNotification(task.jobid, { callback_attempts: attempts, callback_abandoned: abandoned || undefined });
    deps.logger.warn(abandoned ? 'completion callback abandoned' : 'completion callback failed; will retry', {
      jobid: task.jobid,
      attempts,
      error: error instanceof Error ? error.message : errorKind(error),
    });
    // Exponential backoff with jitter, capped at 5 minutes.
    return abandoned ? { done: true } : { done: false, retryInSeconds: Math.min(300, Math.ceil(2 ** attempts * (0.75 + Math.random() / 4))) };
  }
}
