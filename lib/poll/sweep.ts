/**
 * The sweeper: no orphan task. A task whose next poll is long overdue has lost its poll message
 * (the first SendMessage failed, or the message went to the dead-letter queue). The sweeper starts
 * a new chain for it, conditional on the `next_poll_at` it saw, and sends one message of that chain;
 * a message of the old chain, should it ever come back, is then let go (`pollTask.ts`), so a task
 * never has two chains.
 */
import scheduleDefaults from '../../config/poll-schedule.json' with { type: 'json' };
import type { Log } from '../log.js';
import { errorKind } from '../log.js';
import type { PollQueue } from '../queue/port.js';
import type { TaskStore } from '../tasks/port.js';

export interface SweepDependencies {
  store: TaskStore;
  queue: PollQueue;
  logger: Log;
  sweep: SweepSettings;
  now?: () => number;
}

export interface SweepSettings {
  /**
   * How overdue a task must be before it counts as orphaned. Longer than the poll queue's visibility
   * timeout, since a crashed poll step's message comes back only after it.
   */
  graceSeconds: number;
  /** Tasks resumed per run at most. */
  limit: number;
}

export const DEFAULT_SWEEP: SweepSettings = { graceSeconds: scheduleDefaults.sweepGraceSeconds, limit: 500 };

export interface SweepReport {
  overdue: number;
  resumed: number;
  /** Resumed, but the message could not be sent: overdue again, the next run retries. */
  sendFailed: number;
}

/**
 * @example
 * const report = await sweepOverdue({ store, queue, logger, sweep: DEFAULT_SWEEP });
 */
export async function sweepOverdue(deps: SweepDependencies): Promise<SweepReport> {
  const now = (deps.now ?? Date.now)();
  const overdue = await deps.store.findOverdue(now - deps.sweep.graceSeconds * 1000, deps.sweep.limit);
  const report: SweepReport = { overdue: overdue.length, resumed: 0, sendFailed: 0 };
  await Promise.all(
    overdue.map(async (task) => {
      const chain = await deps.store.resumeChain(task.jobid, task.next_poll_at, now);
      if (chain === undefined) return; // polled meanwhile: its chain is alive
      report.resumed += 1;
      try {
        await deps.queue.sendPoll({ jobid: task.jobid, chain }, 0);
        deps.logger.warn('resumed an orphaned task with a new poll chain', {
          jobid: task.jobid,
          chain,
          overdueMs: now - task.next_poll_at,
        });
      } catch (error) {
        report.sendFailed += 1;
        deps.logger.error('could not send the poll message of a resumed task', {
          jobid: task.jobid,
          error: errorKind(error),
        });
      }
    }),
  );
  if (report.overdue > 0) deps.logger.info('sweep finished', { ...report });
  return report;
}
