/**
 * Telling the world a task ended, at least once: the EventBridge event and the callback. Each success
 * is recorded on the task; until both are done (or given up after their attempts), the task's poll
 * message is kept and comes back to try again. Consumers may see an event or a callback twice:
 * deduplicate on jobid.
 */

import type { Log } from '../log.js';
import { errorKind } from '../log.js';
import type { TaskStore } from '../tasks/port.js';
import type { TaskRecord } from '../tasks/task.js';
import type { CallbackSender } from './callback.js';
import { type CompletionPublisher, completionEvent } from './completion.js';
import { CallbackDeliveryError } from './errors.js';

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
/** Puts of the completion event before giving up (about 80 minutes of backoff). */
export const MAX_EVENT_ATTEMPTS = 20;

/** Done, or try again after `retryInSeconds`. */
export type NotifyResult = { done: true } | { done: false; retryInSeconds: number };

/** Exponential backoff with jitter, capped at 5 minutes. */
function backoffSeconds(attempts: number): number {
  return Math.min(300, Math.ceil(2 ** attempts * (0.75 + Math.random() / 4)));
}

/** A message fit for a log line: our own errors say what happened; foreign ones are named, never quoted. */
function describe(error: unknown): string {
  return error instanceof CallbackDeliveryError ? error.message : errorKind(error);
}

/**
 * Announce an ended task: the event and the callback are each tried, each with its own attempts and
 * backoff, and each given up after its limit (recorded on the task, logged as an error), so one
 * failing channel never holds the other back and the poll message is let go in bounded time.
 */
export async function notifyCompletion(task: TaskRecord, deps: NotifyDependencies): Promise<NotifyResult> {
  const { notifier } = deps;
  if (!notifier) return { done: true };
  const at = () => new Date((deps.now ?? Date.now)()).toISOString();
  const event = completionEvent(task);
  const retries: number[] = [];

  if (notifier.publisher && !task.event_published_at && !task.event_abandoned) {
    const attempts = (task.event_attempts ?? 0) + 1;
    try {
      await notifier.publisher.publish(event);
      await deps.store.recordNotification(task.jobid, { event_published_at: at(), event_attempts: attempts });
    } catch (error) {
      const abandoned = attempts >= MAX_EVENT_ATTEMPTS;
      await deps.store.recordNotification(task.jobid, {
        event_attempts: attempts,
        event_abandoned: abandoned || undefined,
      });
      deps.logger[abandoned ? 'error' : 'warn'](
        abandoned ? 'completion event abandoned' : 'completion event not published; will retry',
        {
          jobid: task.jobid,
          attempts,
          error: describe(error),
        },
      );
      if (!abandoned) retries.push(backoffSeconds(attempts));
    }
  }

  const callbackUrl = task.callback_url;
  if (callbackUrl && notifier.callbacks && !task.callback_delivered_at && !task.callback_abandoned) {
    const attempts = (task.callback_attempts ?? 0) + 1;
    try {
      await notifier.callbacks.deliver(callbackUrl, event);
      await deps.store.recordNotification(task.jobid, { callback_delivered_at: at(), callback_attempts: attempts });
      deps.logger.info('completion callback delivered', { jobid: task.jobid, attempts });
    } catch (error) {
      const abandoned = attempts >= (notifier.maxCallbackAttempts ?? DEFAULT_MAX_CALLBACK_ATTEMPTS);
      await deps.store.recordNotification(task.jobid, {
        callback_attempts: attempts,
        callback_abandoned: abandoned || undefined,
      });
      deps.logger[abandoned ? 'error' : 'warn'](
        abandoned ? 'completion callback abandoned' : 'completion callback failed; will retry',
        {
          jobid: task.jobid,
          attempts,
          error: describe(error),
        },
      );
      if (!abandoned) retries.push(backoffSeconds(attempts));
    }
  }
  return retries.length === 0 ? { done: true } : { done: false, retryInSeconds: Math.min(...retries) };
}
