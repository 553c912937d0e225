/**
 * Task metrics: counts and durations only, never content. On Lambda they go out as CloudWatch
 * embedded-metric-format lines through Powertools Metrics (namespace `WecomZoneTasks`), published at
 * the end of each invocation by Powertools' own `logMetrics` middleware; locally they are counted in memory.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
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
  /** The Powertools Metrics behind it, when there is one (published by {@link publishMetrics}). */
  readonly powertools?: Metrics;
}

/**
 * middy middleware: Powertools' `logMetrics` publishes the metrics an invocation added, after it,
 * also when it failed; in-memory metrics need nothing. A metric that cannot be published never turns
 * an answer into an error (after `POST /tasks` the zone task exists, and a 500 would make the client
 * create another one): a throw from publishing is logged by kind and dropped.
 *
 * @example
 * middy(handler).use(publishMetrics(deps.metrics, deps.logger))
 */
export function publishMetrics(metrics: TaskMetrics | undefined, logger?: Log): MiddlewareObj {
  // middy refuses a middleware with no step: in-memory metrics get one that does nothing.
  if (!metrics?.powertools) return { after: () => undefined };
  const { before, after, onError } = logMetrics(metrics.powertools);
  const guarded =
    (step: MiddlewareObj['after']): NonNullable<MiddlewareObj['after']> =>
    async (request) => {
      try {
        await step?.(request);
      } catch (error) {
        logger?.warn('metrics not published', { error: errorKind(error) });
      }
    };
  return { before, after: guarded(after), onError: guarded(onError) };
}

export const METRIC_NAMESPACE = 'WecomZoneTasks';

const COMPLETION_METRIC: Record<Exclude<TaskStatus, 'PENDING'>, string> = {
  SUCCEEDED: 'TasksSucceeded',
  FAILED: 'TasksFailed',
  TIMED_OUT: 'TasksTimedOut',
};

const POLL_METRIC = { pending: 'PollsPending', transient: 'PollsTransient', final: 'PollsFinal' } as const;

/** Powertools Metrics behind the port; {@link publishMetrics} publishes what each invocation added. */
export class PowertoolsTaskMetrics implements TaskMetrics {
  constructor(
    readonly powertools: Metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: 'wecom-zone-tasks' }),
  ) {}

  taskCreated(): void {
    this.powertools.addMetric('TasksCreated', MetricUnit.Count, 1);
  }

  polled(kind: 'pending' | 'transient' | 'final'): void {
    this.powertools.addMetric('Polls', MetricUnit.Count, 1);
    this.powertools.addMetric(POLL_METRIC[kind], MetricUnit.Count, 1);
  }

  taskCompleted(status: Exclude<TaskStatus, 'PENDING'>, durationMs: number): void {
    this.powertools.addMetric(COMPLETION_METRIC[status], MetricUnit.Count, 1);
    this.powertools.addMetric('TimeToCompletion', MetricUnit.Milliseconds, durationMs);
  }

  budgetWait(): void {
    this.powertools.addMetric('BudgetWaits', MetricUnit.Count, 1);
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
