/**
 * The whole flow in one process, with no external service: the same route handlers and poller the
 * Lambda functions run, behind a local HTTP API, with the embedded queue delivering SQS-shaped
 * batches to the poller, the embedded task store, and the zone emulator (or any zone transport).
 * State lives in memory, or durably in a data directory (`state.ts`); either way records expire as
 * DynamoDB TTL and SQS retention make them expire on AWS, so memory stays flat.
 */
import type { Server } from 'node:http';
import type { CallBudget } from '../budget/port.js';
import { commonConfig, NotifyEnvSchema } from '../config.js';
import type { CallbackReceiver } from '../corps/callback.js';
import type { CorpGate } from '../corps/port.js';
import type { SubmitDependencies } from '../create/submitTask.js';
import { makeCreateTaskHandler } from '../handlers/createTask.js';
import { makeGetTaskHandler } from '../handlers/getTask.js';
import { makeOpenApiHandler } from '../handlers/openapi.js';
import { makePollResultHandler } from '../handlers/pollResult.js';
import { makeWecomCallbackHandler, WECOM_CALLBACK_PATH } from '../handlers/wecomCallback.js';
import { createLogger, errorKind, type Log } from '../log.js';
import { MemoryTaskMetrics } from '../metrics.js';
import type { CallbackPolicy } from '../notify/callback.js';
import { HttpCallbackSender } from '../notify/callback.js';
import { MemoryCompletionPublisher } from '../notify/completion.js';
import type { CompletionNotifier } from '../notify/notifyCompletion.js';
import type { PollDependencies } from '../poll/pollTask.js';
import type { PollSchedule } from '../poll/schedule.js';
import type { SweepDependencies } from '../poll/sweep.js';
import { sweepOverdue } from '../poll/sweep.js';
import type { PollQueue, QueueConsumer } from '../queue/port.js';
import type { SyncMode } from '../shared/database.js';
import { parseEnv } from '../shared/env.js';
import { close, listen } from '../shared/nodeHttp.js';
import type { IdempotencyDependencies } from '../tasks/idempotency.js';
import type { IdempotencyStore, TaskStore } from '../tasks/port.js';
import { zoneClient } from '../zone/client.js';
import { ZoneEmulator } from '../zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../zone/emulator/sample.js';
import type { ZoneTransport } from '../zone/port.js';
import { createApiServer } from './apiServer.js';
import { type RunningEventSourceMapping, startEventSourceMapping } from './eventSourceMapping.js';
import { isExpiring, openLocalState } from './state.js';

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
  /**
   * The zone with the corps it serves, built over the stack's call budget (token requests count
   * against it): its transport replaces `zone`; its gate admits a request's corp_id; its callback
   * receiver serves `GET|POST /wecom/callback/{suite_id}` (public, as on AWS).
   */
  access?: (parts: { budget?: CallBudget }) => {
    transport: ZoneTransport;
    corps?: CorpGate;
    callbacks?: CallbackReceiver;
  };
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
  /**
   * Keep tasks, queue, idempotency keys and budgets durably in this directory's SQLite file
   * (`npm start`: `DATA_DIR`, default `.data`). Unset: in memory. Parts given above take precedence.
   */
  dataDir?: string;
  /** `full`: fsync every commit (`DATA_SYNC`). */
  dataSync?: SyncMode;
  /** How often expired records and messages are deleted (DynamoDB TTL, SQS retention); 0 turns it off. */
  housekeepingEverySeconds?: number;
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
  /** Where the state lives: the database file, or `memory`; and how many in-flight poll messages of a stopped process came back. */
  state: { location: string; durable: boolean; recoveredMessages: number };
  /** Delete what has expired by `now` (the periodic housekeeping, on demand); returns how many records and messages. */
  housekeep(now?: number): Promise<number>;
  stop(): Promise<void>;
}

export type LocalDependencies = SubmitDependencies &
  PollDependencies &
  SweepDependencies &
  IdempotencyDependencies & { callbackPolicy: CallbackPolicy };

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const common = commonConfig(options.env ?? {}, 'local');
  const schedule = { ...common.schedule, ...options.schedule };
  const logger = options.logger ?? createLogger();
  const state = openLocalState({
    dataDir: options.dataDir,
    sync: options.dataSync,
    queue: { visibilityTimeoutSeconds: 180, maxReceiveCount: schedule.maxAttempts + 50 },
    budgetWindows: common.budgetWindows,
  });
  const store = options.store ?? state.store;
  const queue = options.queue ?? state.queue;
  const budget = options.budget ?? state.budget;
  const access = options.access?.({ budget });
  const zone =
    access?.transport ?? options.zone ?? new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms() });
  const idempotency = options.idempotency ?? state.idempotency;
  const events = new MemoryCompletionPublisher();
  const { callbackSecret } = options;
  const notifier: CompletionNotifier = {
    maxCallbackAttempts: parseEnv(NotifyEnvSchema, options.env ?? {}).CALLBACK_MAX_ATTEMPTS,
    publisher: events,
    callbacks: callbackSecret ? new HttpCallbackSender({ secret: async () => callbackSecret }) : undefined,
  };
  const callbackPolicy: CallbackPolicy = {
    enabled: callbackSecret !== undefined,
    allowHttp: true,
    setting: 'CALLBACK_SIGNING_SECRET',
  };
  const metrics = new MemoryTaskMetrics();
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
    corps: access?.corps,
  };
  const sweepEveryMs = (options.sweepEverySeconds ?? 60) * 1000;
  const sweeper =
    sweepEveryMs > 0
      ? setInterval(() => {
          sweepOverdue(deps).catch((error: unknown) => logger.error('sweep failed', { error: errorKind(error) }));
        }, sweepEveryMs).unref()
      : undefined;

  const expiring = ([store, idempotency, queue, budget] as unknown[]).filter(isExpiring);
  const housekeep = async (now = Date.now()) => {
    let purged = 0;
    for (const part of expiring) purged += await part.purgeExpired(now);
    return purged;
  };
  const housekeepingEveryMs = (options.housekeepingEverySeconds ?? 600) * 1000;
  const housekeeping =
    housekeepingEveryMs > 0
      ? setInterval(() => {
          housekeep().catch((error: unknown) => logger.error('housekeeping failed', { error: errorKind(error) }));
        }, housekeepingEveryMs).unref()
      : undefined;
  await housekeep();

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
      ...(access?.callbacks
        ? (['GET', 'POST'] as const).map((method) => ({
            method,
            path: WECOM_CALLBACK_PATH,
            handler: makeWecomCallbackHandler({ callbacks: access.callbacks as CallbackReceiver, logger }),
            // WeCom cannot send the bearer token: the message signature is the authentication.
            public: true,
          }))
        : []),
    ],
  });
  let url: string;
  try {
    url = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  } catch (error) {
    clearInterval(sweeper);
    clearInterval(housekeeping);
    await poller.stop();
    state.close();
    throw error;
  }
  return {
    url,
    metrics,
    deps,
    events,
    store,
    queue,
    zone,
    poller,
    state: { location: state.location, durable: state.durable, recoveredMessages: state.recoveredMessages },
    housekeep,
    async stop() {
      clearInterval(sweeper);
      clearInterval(housekeeping);
      await close(server);
      await poller.stop();
      // Last: every poll step in flight has written its outcome.
      state.close();
    },
  };
}
