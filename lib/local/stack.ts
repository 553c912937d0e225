/**
 * The whole flow in one process, with no external service: the same route handlers and poller the
 * Lambda functions run, behind a local HTTP API, with the embedded queue delivering SQS-shaped
 * batches to the poller, the embedded task store, and the zone emulator (or any zone transport).
 */
import type { Server } from 'node:http';
import { makeOpenApiHandler } from '../api/openapi.js';
import { type CallbackPolicy } from '../api/http.js';
import { makeCreateTaskHandler } from '../api/createTaskRoute.js';
import { makeGetTaskHandler } from '../api/getTaskRoute.js';
import { makePollResultHandler } from '../api/pollRoutes.js';
import type { PollDependencies } from '../poll/pollTask.js';
import type { SweepDependencies } from '../poll/sweep.js';
import type { IdempotencyDependencies } from '../tasks/idempotency.js';
import type { SubmitDependencies } from '../tasks/submitTask.js';
import { commonConfig, NotifyEnvSchema, parseEnv } from '../config.js';
import { createLogger, errorKind, type Log } from '../log.js';
import { MemoryTaskMetrics } from '../metrics.js';
import { MemoryCallBudget } from '../budget/memoryBudget.js';
import type { CallBudget } from '../budget/port.js';
import { HttpCallbackSender } from '../notify/callback.js';
import { MemoryCompletionPublisher } from '../notify/completion.js';
import type { CompletionNotifier } from '../notify/notifyCompletion.js';
import type { PollSchedule } from '../poll/schedule.js';
import { sweepOverdue } from '../poll/sweep.js';
import { type RunningEventSourceMapping, startEventSourceMapping } from '../queue/eventSourceMapping.js';
import { LocalQueue } from '../queue/localQueue.js';
import type { PollQueue, QueueConsumer } from '../queue/port.js';
import { MemoryTaskStore } from '../tasks/memoryStore.js';
import { type IdempotencyStore, MemoryIdempotencyStore } from '../tasks/idempotency.js';
import type { TaskStore } from '../tasks/store.js';
import { zoneClient } from '../zone/client.js';
import { ZoneEmulator } from '../zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../zone/emulator/sample.js';
import type { ZoneTransport } from '../zone/port.js';
import { createApiServer } from './apiServer.js';
import { close, listen } from './nodeHttp.js';

export interface LocalStackOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Require `Authorization: Bearer <token>` on the API. */
  bearerToken?: string;
  /** `POLL_*`, `ZONE_*_ERRCODES`, `TASK_RETENTION_DAYS`, as on AWS. */
  env?: Record<string, string | undefined>;
  /** Overrides on top of the env's schedule (tests use short waits). */
  schedule?: Partial<PollSchedule>;
  /** The zone: an emulator with the sample configuration unless given. */
  zone?: ZoneTransport;
  store?: TaskStore;
  idempotency?: IdempotencyStore;
  queue?: PollQueue & QueueConsumer & { interrupt?(): void };
  logger?: Log;
  /** Batches the poller handles at once (the event source's maximum concurrency). */
  pollConcurrency?: number;
  /** How often the sweeper runs (on AWS: every 5 minutes); 0 turns it off. */
  sweepEverySeconds?: number;
  /** The per-corp call budget: by default in memory, from `BUDGET_*`. */
  budget?: CallBudget;
  /** Signs completion callbacks; without it `callback_url` is refused. Plain-HTTP callbacks are allowed locally. */
  callbackSecret?: string;
}

export interface LocalStack {
  url: string;
  /** Task metrics, counted in memory. */
  metrics: MemoryTaskMetrics;
  /** Completion events, as EventBridge would receive them. */
  events: MemoryCompletionPublisher;
  store: TaskStore;
  queue: PollQueue & QueueConsumer;
  zone: ZoneTransport;
  poller: RunningEventSourceMapping;
  /** The dependencies the handlers run with, to build more handlers over the same stack. */
  deps: LocalDependencies;
  stop(): Promise<void>;
}

export type LocalDependencies = SubmitDependencies & PollDependencies & SweepDependencies & IdempotencyDependencies & { callbackPolicy: CallbackPolicy };

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const common = commonConfig(options.env ?? {});
  const schedule = { ...common.schedule, ...options.schedule };
  const logger = options.logger ?? createLogger();
  const store = options.store ?? new MemoryTaskStore();
  const queue =
    options.queue ??
    new LocalQueue({ visibilityTimeoutSeconds: 180, maxReceiveCount: schedule.maxAttempts + 50 });
  const zone = options.zone ?? new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms() });
  const idempotency = options.idempotency ?? new MemoryIdempotencyStore();
  const events = new MemoryCompletionPublisher();
  const { callbackSecret } = options;
  const notifier: CompletionNotifier = {
    maxCallbackAttempts: parseEnv(NotifyEnvSchema, options.env ?? {}).CALLBACK_MAX_ATTEMPTS,
    publisher: events,
    callbacks: callbackSecret ? new HttpCallbackSender({ secret: async () => callbackSecret }) : undefined,
  };
  const callbackPolicy: CallbackPolicy = { enabled: callbackSecret !== undefined, allowHttp: true, setting: 'CALLBACK_SIGNING_SECRET' };
  const metrics = new MemoryTaskMetrics();
  const budget = options.budget ?? (common.budgetWindows.length > 0 ? new MemoryCallBudget(common.budgetWindows) : undefined);
  const deps: LocalDependencies = {
    ...common,
    schedule,
    logger,
    store,
    queue,
    idempotency,
    notifier,
    callbackPolicy,
    metrics,
    budget,
    zone: zoneClient(zone),
  };
  const sweepEveryMs = (options.sweepEverySeconds ?? 60) * 1000;
  const sweeper =
    sweepEveryMs > 0
      ? setInterval(() => {
          sweepOverdue(deps).catch((error: unknown) => logger.error('sweep failed', { error: errorKind(error) }));
        }, sweepEveryMs).unref()
      : undefined;

  const poller = startEventSourceMapping({
    consumer: queue,
    handler: makePollResultHandler(deps),
    batchSize: 10,
    concurrency: options.pollConcurrency ?? 2,
    onInvocationError: (error) => logger.error('poller invocation failed', { error: errorKind(error) }),
  });
  const server: Server = createApiServer({
    bearerToken: options.bearerToken,
    routes: [
      { method: 'POST', path: '/tasks', handler: makeCreateTaskHandler(deps) },
      { method: 'GET', path: '/tasks/{jobid}', handler: makeGetTaskHandler(deps) },
      { method: 'GET', path: '/openapi.json', handler: makeOpenApiHandler({ logger }), public: true },
    ],
  });
  const url = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  return {
    url,
    metrics,
    deps,
    events,
    store,
    queue,
    zone,
    poller,
    async stop() {
      clearInterval(sweeper);
      await close(server);
      await poller.stop();
    },
  };
}
