/**
 * Configuration from environment variables, validated once at start-up with errors that name the
 * variable. The README's configuration table documents each one.
 */
import * as z from 'zod';
import { type ResultClassifier, parseErrcodeList } from './poll/classify.js';
import scheduleDefaults from '../config/poll-schedule.json' with { type: 'json' };
import { type BudgetWindow, CorpIdSchema, DEFAULT_CORP_ID } from './budget/port.js';
import { DEFAULT_SWEEP, type SweepSettings } from './poll/sweep.js';
import { DEFAULT_IDEMPOTENCY, type IdempotencySettings } from './tasks/idempotency.js';
import { DEFAULT_POLL_SCHEDULE, type PollSchedule, PollScheduleSchema } from './poll/schedule.js';
import { DEFAULT_PENDING_ERRCODES, DEFAULT_TRANSIENT_ERRCODES } from './protocol/errcodes.js';

type Env = Record<string, string | undefined>;

const optionalNumber = z.coerce.number().optional();

const CommonEnvSchema = z.object({
  POLL_FIRST_DELAY_SECONDS: optionalNumber,
  POLL_MIN_WAIT_SECONDS: optionalNumber,
  POLL_GROWTH: optionalNumber,
  POLL_JITTER: optionalNumber,
  POLL_MAX_WAIT_SECONDS: optionalNumber,
  POLL_MAX_ATTEMPTS: optionalNumber,
  POLL_DEADLINE_SECONDS: optionalNumber,
  POLL_LEASE_SECONDS: optionalNumber,
  ZONE_PENDING_ERRCODES: z.string().default(DEFAULT_PENDING_ERRCODES.join(',')),
  ZONE_TRANSIENT_ERRCODES: z.string().default(DEFAULT_TRANSIENT_ERRCODES.join(',')),
  TASK_RETENTION_DAYS: z.coerce.number().int().min(1).default(30),
  SWEEP_GRACE_SECONDS: z.coerce.number().int().min(0).default(DEFAULT_SWEEP.graceSeconds),
  SWEEP_LIMIT: z.coerce.number().int().min(1).max(10_000).default(DEFAULT_SWEEP.limit),
  IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().min(60).default(DEFAULT_IDEMPOTENCY.ttlSeconds),
  IDEMPOTENCY_WAIT_MS: z.coerce.number().int().min(0).max(20_000).default(DEFAULT_IDEMPOTENCY.waitMs),
  /** Per-corp budgets (0 turns the budget off). Defaults: 80 % of WeCom's 10 000 / min and 150 000 / h. */
  BUDGET_PER_MINUTE: z.coerce.number().int().min(0).default(scheduleDefaults.budgetPerMinute),
  BUDGET_PER_HOUR: z.coerce.number().int().min(0).default(scheduleDefaults.budgetPerHour),
  BUDGET_SPREAD_SECONDS: z.coerce.number().int().min(0).max(3600).default(scheduleDefaults.budgetSpreadSeconds),
  DEFAULT_CORP_ID: CorpIdSchema.default(DEFAULT_CORP_ID),
});

/** Where the task records live (every function). */
export const TasksEnvSchema = z.object({ TASKS_TABLE: z.string().min(1) });
/** The Idempotency-Key records (the functions that create tasks). */
export const IdempotencyEnvSchema = z.object({ IDEMPOTENCY_TABLE: z.string().min(1) });
/** The poll queue (the functions that send or hold poll messages). */
export const QueueEnvSchema = z.object({ POLL_QUEUE_URL: z.url() });
/** The zone transports a deployment can use (`npm start` also has `emulator`). */
export const ZONE_TRANSPORTS = ['relay', 'bridge', 'wecom'] as const;
export type ZoneTransportName = (typeof ZONE_TRANSPORTS)[number];

/** How the functions reach the zone (the functions that call it). */
export const ZoneTransportEnvSchema = z.object({
  /**
   * `relay` (default): WeCom's `sync_call_program` to the relay program in the zone (WECOM_*,
   * WECOM_RELAY_*); `bridge`: the HTTP bridge at ZONE_BRIDGE_URL (local work, debug mode); `wecom`:
   * WeCom's `async_program_task` to a zone program of your own. README "Which transport".
   */
  ZONE_TRANSPORT: z.enum(ZONE_TRANSPORTS, { error: `must be one of ${ZONE_TRANSPORTS.join(', ')}` }).default('relay'),
  /** Required when ZONE_TRANSPORT=bridge. */
  ZONE_BRIDGE_URL: z.url().optional(),
  ZONE_BRIDGE_TOKEN: z.string().optional(),
  ZONE_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
});
/** Completion events and callbacks (the poller; the create functions read whether callbacks are on). */
export const NotifyEnvSchema = z.object({
  /** Completion events go to this EventBridge bus; none when unset. */
  EVENT_BUS_NAME: z.string().min(1).optional(),
  EVENT_SOURCE: z.string().min(1).default('wecom-zone-tasks'),
  /** SSM parameter (SecureString) holding the callback signing secret; callbacks are off when unset. */
  CALLBACK_SECRET_PARAM: z.string().min(1).optional(),
  CALLBACK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(8),
});

/** Every variable a Lambda function may read (each function validates only the parts it uses). */
export const AwsEnvSchema = CommonEnvSchema.extend({
  ...TasksEnvSchema.shape,
  ...IdempotencyEnvSchema.shape,
  ...QueueEnvSchema.shape,
  ...ZoneTransportEnvSchema.shape,
  ...NotifyEnvSchema.shape,
});

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/** A variable set to the empty string counts as unset (serverless.yml writes `${env:X, ''}`). */
export function parseEnv<S extends z.ZodType>(schema: S, env: Env): z.infer<S> {
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')));
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
  throw new ConfigurationError(`invalid configuration: ${problems}`);
}

export interface CommonConfig {
  schedule: PollSchedule;
  /** Budget windows (none: no budget), the resume spread, and the corp of requests that name none. */
  budgetWindows: BudgetWindow[];
  budgetSpreadSeconds: number;
  defaultCorpId: string;
  sweep: SweepSettings;
  idempotencySettings: IdempotencySettings;
  classifier: ResultClassifier;
  retentionSeconds: number;
}

/** The schedule and error classes, from `POLL_*` / `ZONE_*_ERRCODES` over the defaults. */
export function commonConfig(env: Env): CommonConfig {
  const parsed = parseEnv(CommonEnvSchema, env);
  const candidate = {
    firstDelaySeconds: parsed.POLL_FIRST_DELAY_SECONDS ?? DEFAULT_POLL_SCHEDULE.firstDelaySeconds,
    minWaitSeconds: parsed.POLL_MIN_WAIT_SECONDS ?? DEFAULT_POLL_SCHEDULE.minWaitSeconds,
    growth: parsed.POLL_GROWTH ?? DEFAULT_POLL_SCHEDULE.growth,
    jitter: parsed.POLL_JITTER ?? DEFAULT_POLL_SCHEDULE.jitter,
    maxWaitSeconds: parsed.POLL_MAX_WAIT_SECONDS ?? DEFAULT_POLL_SCHEDULE.maxWaitSeconds,
    maxAttempts: parsed.POLL_MAX_ATTEMPTS ?? DEFAULT_POLL_SCHEDULE.maxAttempts,
    deadlineSeconds: parsed.POLL_DEADLINE_SECONDS ?? DEFAULT_POLL_SCHEDULE.deadlineSeconds,
    leaseSeconds: parsed.POLL_LEASE_SECONDS ?? DEFAULT_POLL_SCHEDULE.leaseSeconds,
  };
  const schedule = PollScheduleSchema.safeParse(candidate);
  if (!schedule.success) {
    const problems = schedule.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new ConfigurationError(`invalid poll schedule (POLL_* variables): ${problems}`);
  }
  try {
    return {
      schedule: schedule.data,
      sweep: { graceSeconds: parsed.SWEEP_GRACE_SECONDS, limit: parsed.SWEEP_LIMIT },
      budgetWindows: [
        { seconds: 60, limit: parsed.BUDGET_PER_MINUTE },
        { seconds: 3600, limit: parsed.BUDGET_PER_HOUR },
      ].filter((window) => window.limit > 0),
      budgetSpreadSeconds: parsed.BUDGET_SPREAD_SECONDS,
      defaultCorpId: parsed.DEFAULT_CORP_ID,
      idempotencySettings: {
        ttlSeconds: parsed.IDEMPOTENCY_TTL_SECONDS,
        waitMs: parsed.IDEMPOTENCY_WAIT_MS,
        staleAfterMs: DEFAULT_IDEMPOTENCY.staleAfterMs,
      },
      classifier: {
        pendingErrcodes: parseErrcodeList(parsed.ZONE_PENDING_ERRCODES),
        transientErrcodes: parseErrcodeList(parsed.ZONE_TRANSIENT_ERRCODES),
      },
      retentionSeconds: parsed.TASK_RETENTION_DAYS * 86_400,
    };
  } catch (error) {
    throw new ConfigurationError(`ZONE_PENDING_ERRCODES / ZONE_TRANSIENT_ERRCODES: ${(error as Error).message}`);
  }
}
