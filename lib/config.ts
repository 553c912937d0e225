/**
 * Configuration from environment variables, validated once at start-up with errors that name the
 * variable. docs/configuration.md documents each one.
 */
import * as z from 'zod';
import scheduleDefaults from '../config/poll-schedule.json' with { type: 'json' };
import { type BudgetWindow, CorpIdSchema, DEFAULT_CORP_ID } from './budget/port.js';
import { parseErrcodeList, type ResultClassifier } from './poll/classify.js';
import { DEFAULT_POLL_SCHEDULE, type PollSchedule, PollScheduleSchema } from './poll/schedule.js';
import { DEFAULT_SWEEP, type SweepSettings } from './poll/sweep.js';
import { DEFAULT_PENDING_ERRCODES, DEFAULT_TRANSIENT_ERRCODES } from './protocol/errcodes.js';
import { secretText } from './secretText.js';
import { ConfigurationError, type Env, parseEnv } from './shared/env.js';
import { DEFAULT_IDEMPOTENCY, type IdempotencySettings } from './tasks/idempotency.js';
import { MAX_ZONE_TIMEOUT_MS, ZoneTimeoutEnvSchema } from './zone/timeout.js';

/**
 * A secret or token in the environment (`X=$(cat file)` keeps no line break, `.env` files may keep a
 * CR): a trailing CR/LF is dropped, other whitespace at its ends is refused (`secretText.ts`).
 */
export function secretEnv(name: string) {
  return z.string().transform((value, context) => {
    try {
      return secretText(name, value);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message.replace(`${name}: `, '') });
      return z.NEVER;
    }
  });
}

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
  /** Refused wherever it appears (Lambda or npm start, whatever the transport): a secret in plain configuration. */
  WECOM_CORP_SECRET: z.string().optional(),
});

/**
 * What the settings must respect, from the infrastructure they run on (`config/poll-schedule.json`,
 * which `serverless.yml` reads too) and from WeCom's own limits.
 */
export const LIMITS = {
  /** The poll queue moves a message to its dead-letter queue after this many receives. */
  maxReceiveCount: scheduleDefaults.maxReceiveCount,
  /** Receives kept for budget waits, duplicate deliveries and completion retries, beyond the polls. */
  receiveHeadroom: 50,
  /** The poll queue's visibility timeout: a crashed step's message comes back after it. */
  queueVisibilitySeconds: scheduleDefaults.queueVisibilitySeconds,
  /** The poller's Lambda timeout. */
  pollerTimeoutSeconds: scheduleDefaults.pollerTimeoutSeconds,
  /** A zone call must end well inside createTask's 25 s (API Gateway gives up at 29 s) and the poller's 30 s. */
  maxZoneTimeoutMs: MAX_ZONE_TIMEOUT_MS,
  /** WeCom's per-corp limits (calls a minute, an hour): a budget above them protects nothing. */
  wecomPerMinute: 10_000,
  wecomPerHour: 150_000,
} as const;

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
   * WeCom's `async_program_task` to a zone program of your own. docs/reach-your-corp.md "Which transport".
   */
  ZONE_TRANSPORT: z.enum(ZONE_TRANSPORTS, { error: `must be one of ${ZONE_TRANSPORTS.join(', ')}` }).default('relay'),
  /** Required when ZONE_TRANSPORT=bridge. */
  ZONE_BRIDGE_URL: z.url().optional(),
  /** The bridge's bearer token itself: `npm start` only (refused on AWS, where it would sit in plain configuration). */
  ZONE_BRIDGE_TOKEN: secretEnv('ZONE_BRIDGE_TOKEN').optional(),
  /** On AWS: the SSM SecureString (name or ARN, under /wecom-zone-tasks/<stage>/) holding the bridge's bearer token. */
  ZONE_BRIDGE_TOKEN_PARAM: z.string().min(1).optional(),
  ...ZoneTimeoutEnvSchema.shape,
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

/**
 * The `source` values createFromEvent accepts (comma-separated), the same list the EventBridge rule's
 * pattern requires (serverless.yml); unset: any source (`npm start` and tests have no bus).
 */
export const CreateEventSourcesEnvSchema = z.object({
  CREATE_EVENT_SOURCES: z
    .string()
    .optional()
    .transform((text) =>
      text === undefined
        ? undefined
        : text
            .split(',')
            .map((source) => source.trim())
            .filter((source) => source !== ''),
    )
    .refine((sources) => sources === undefined || sources.length > 0, 'must name at least one event source'),
});

/** Every variable a Lambda function may read (each function validates only the parts it uses). */
export const AwsEnvSchema = CommonEnvSchema.extend({
  ...TasksEnvSchema.shape,
  ...IdempotencyEnvSchema.shape,
  ...QueueEnvSchema.shape,
  ...ZoneTransportEnvSchema.shape,
  ...NotifyEnvSchema.shape,
  ...CreateEventSourcesEnvSchema.shape,
});

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

/**
 * Settings that depend on each other or on the infrastructure, checked together wherever the
 * configuration is read (every function at start-up, `npm start`, `osls package`).
 */
function crossCheck(parsed: z.infer<typeof CommonEnvSchema>, schedule: PollSchedule, where: 'aws' | 'local'): string[] {
  const problems: string[] = [];
  const maxAttempts = LIMITS.maxReceiveCount - LIMITS.receiveHeadroom;
  if (schedule.maxAttempts > maxAttempts) {
    problems.push(
      `POLL_MAX_ATTEMPTS: must be at most ${maxAttempts}: every poll is a receive of the task's message, and the poll queue moves it to the ` +
        `dead-letter queue after ${LIMITS.maxReceiveCount} receives (maxReceiveCount, config/poll-schedule.json), ${LIMITS.receiveHeadroom} of them kept for budget waits, duplicates and completion retries`,
    );
  }
  if (
    (where === 'aws' && schedule.leaseSeconds <= LIMITS.pollerTimeoutSeconds) ||
    schedule.leaseSeconds > LIMITS.queueVisibilitySeconds
  ) {
    problems.push(
      `POLL_LEASE_SECONDS: must be ${where === 'aws' ? `more than the poller's timeout (${LIMITS.pollerTimeoutSeconds} s), so a running step keeps its task, and ` : ''}` +
        `at most the poll queue's visibility timeout (${LIMITS.queueVisibilitySeconds} s)`,
    );
  }
  if (parsed.BUDGET_PER_MINUTE > LIMITS.wecomPerMinute) {
    problems.push(
      `BUDGET_PER_MINUTE: must be at most WeCom's own limit, ${LIMITS.wecomPerMinute} calls a minute per corp (0 turns the budget off)`,
    );
  }
  if (parsed.BUDGET_PER_HOUR > LIMITS.wecomPerHour) {
    problems.push(
      `BUDGET_PER_HOUR: must be at most WeCom's own limit, ${LIMITS.wecomPerHour} calls an hour per corp (0 turns the budget off)`,
    );
  }
  if (parsed.WECOM_CORP_SECRET !== undefined) {
    problems.push(
      'WECOM_CORP_SECRET: never put the corp secret in the environment: store it in SSM (WECOM_CORP_SECRET_PARAM) or Secrets Manager (WECOM_CORP_SECRET_ARN); npm start also reads a file (WECOM_CORP_SECRET_FILE)',
    );
  }
  return problems;
}

/** The schedule and error classes, from `POLL_*` / `ZONE_*_ERRCODES` over the defaults. */
/**
 * @param where `aws` (the functions, and `osls package`) also checks what only Lambda imposes: a
 * poll step's lease must outlast the poller's timeout. `local` (`npm start`) has no such timeout.
 */
export function commonConfig(env: Env, where: 'aws' | 'local' = 'aws'): CommonConfig {
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
  const problems = crossCheck(parsed, schedule.data, where);
  if (problems.length > 0) throw new ConfigurationError(`invalid configuration: ${problems.join('; ')}`);
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
