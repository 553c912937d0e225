/**
 * Task metrics: counts and durations only, never content. On Lambda they go out as CloudWatch
 * embedded-metric-format lines through Powertools Metrics (namespace `WecomZoneTasks`), flushed at
 * the end of each invocation; locally they are counted in memory.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import { errorKind, type Log } from './log.js';
import type { TaskStatus } from './tasks/task.js';

export interface TaskMetrics {
  taskCreated(): void;
  /** One poll step's answer. */
  polled(kind: 'pending' | 'transient' | 'final'): void;
  taskCompleted(status: Exclude<TaskStatus, 'PENDING'>, durationMs: number): void;
  /** A poll waited because its corp's call budget was spent. */
  budgetWait?(): void;
  /** Publish what this invocation added (Lambda); nothing to do in memory. */
  flush?(): void;
}

/**
 * middy middleware: publishes the metrics an invocation added, after it, also when it failed.
 *
 * @example
 * middy(handler).use(flushMetrics(deps.metrics))
 */
export function flushMetrics(metrics: TaskMetrics | undefined, logger?: Log): MiddlewareObj {
  // A metric that cannot be published never turns an answer into an error: after POST /tasks the
  // zone task exists, and a 500 would make the client create another one.
  const flush = async () => {
    try {
      await metrics?.flush?.();
    } catch (error) {
      logger?.warn('metrics not published', { error: errorKind(error) });
    }
  };
  return { after: flush, onError: flush };
}

export const METRIC_NAMESPACE = 'WecomZoneTasks';

const COMPLETION_METRIC: Record<Exclude<TaskStatus, 'PENDING'>, string> = {
  SUCCEEDED: 'TasksSucceeded',
  FAILED: 'TasksFailed',
  TIMED_OUT: 'TasksTimedOut',
};

const POLL_METRIC = { pending: 'PollsPending', transient: 'PollsTransient', final: 'PollsFinal' } as const;

/** Powertools Metrics behind the port; `flush()` publishes what the invocation added. */
export class PowertoolsTaskMetrics implements TaskMetrics {
  constructor(
    readonly metrics: Metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: 'wecom-zone-tasks' }),
  ) {}

  taskCreated(): void {
    this.metrics.addMetric('TasksCreated', MetricUnit.Count, 1);
  }

  polled(kind: 'pending' | 'transient' | 'final'): void {
    this.metrics.addMetric('Polls', MetricUnit.Count, 1);
    this.metrics.addMetric(POLL_METRIC[kind], MetricUnit.Count, 1);
  }

  taskCompleted(status: Exclude<TaskStatus, 'PENDING'>, durationMs: number): void {
    this.metrics.addMetric(COMPLETION_METRIC[status], MetricUnit.Count, 1);
    this.metrics.addMetric('TimeToCompletion', MetricUnit.Milliseconds, durationMs);
  }

  budgetWait(): void {
    this.metrics.addMetric('BudgetWaits', MetricUnit.Count, 1);
  }

  flush(): void {
    this.metrics.publishStoredMetrics();
  }
}

/** Counts in memory: the local stack's and the tests' metrics. */
export class MemoryTaskMetrics implements TaskMetrics {
  readonly counts: Record<string, number> = {};
  /** The most recent completion times (up to `keep`, default 10 000), so a long-running server stays flat. */
  readonly completionTimesMs: number[] = [];
  constructor(readonly keep = 10_000) {}

  taskCreated(): void {
    this.#add('TasksCreated');
  }

  polled(kind: 'pending' | 'transient' | 'final'): void {
    this.#add('Polls');
    this.#add(POLL_METRIC[kind]);
  }

  taskCompleted(status: Exclude<TaskStatus, 'PENDING'>, durationMs: number): void {
    this.#add(COMPLETION_METRIC[status]);
    this.completionTimesMs.push(durationMs);
    if (this.completionTimesMs.length > this.keep)
      this.completionTimesMs.splice(0, this.completionTimesMs.length - Math.floor(this.keep / 2));
  }

  budgetWait(): void {
    this.#add('BudgetWaits');
  }

  #add(name: string): void {
    this.counts[name] = (this.counts[name] ?? 0) + 1;
  }
}
