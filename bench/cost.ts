/**
 * Row 8: what a task costs on AWS, counted request by request from the real submit and poll code on
 * the virtual clock (`bench/meter.ts`), priced with `bench/prices.ts`; beside it, in the same run and
 * at the same worst detection delay (the same poll times), the two other ways to wait for a job on
 * AWS: a Step Functions Standard workflow (Wait → Lambda → Choice per poll) and a Lambda durable
 * function's `waitForCondition`. Also the receive budget: the highest receive count any poll message
 * reaches, against the poll queue's `maxReceiveCount` as serverless.yml declares it.
 */
import { DEFAULT_BUDGET_WINDOWS } from '../lib/budget/port.js';
import { MAX_EVENT_ATTEMPTS } from '../lib/notify/notifyCompletion.js';
import { DEFAULT_POLL_SCHEDULE } from '../lib/poll/schedule.js';
import { CAPACITY_LOAD } from './capacity.js';
import { AwsMeter, type AwsUsage, BATCH_TICK_MS } from './meter.js';
import { cappedBackoffPolicy, figuresAt, jitterGrids, schedulePolicy } from './polling.js';
import { ASSUMED_DURATION_MS, PRICES, PRICES_DATE, PRICES_REGION } from './prices.js';
import { readServerlessSettings, type ServerlessSettings } from './serverlessSettings.js';
import { type CorpReport, type SimulationOptions, simulateCapacity } from './simulation.js';
import { type BenchRow, formatSeconds } from './stats.js';

/** USD per line of the price table. */
export type CostBreakdown = Partial<Record<keyof typeof PRICES, number>>;

export function sum(breakdown: CostBreakdown): number {
  return Object.values(breakdown).reduce((total, usd) => total + (usd ?? 0), 0);
}

/** What a metered run cost, all told (divide by tasks for a task's share). */
export function priceUsage(usage: AwsUsage): CostBreakdown {
  return {
    lambdaRequest: usage.lambdaInvocations * PRICES.lambdaRequest.usd,
    lambdaArmGbSecond: usage.lambdaGbSeconds * PRICES.lambdaArmGbSecond.usd,
    dynamoWriteRequestUnit: usage.dynamoWriteUnits * PRICES.dynamoWriteRequestUnit.usd,
    dynamoReadRequestUnit: usage.dynamoReadUnits * PRICES.dynamoReadRequestUnit.usd,
    sqsRequest:
      (usage.sqsSend + usage.sqsReceive + usage.sqsChangeVisibility + usage.sqsDelete) * PRICES.sqsRequest.usd,
    eventBridgeEvent: usage.eventBridgeEvents * PRICES.eventBridgeEvent.usd,
  };
}

const gbSecondsPerCheck = (memoryMb: number) => (memoryMb / 1024) * (ASSUMED_DURATION_MS.zoneCall / 1000);

/**
 * A Step Functions Standard poller, per task of `polls` polls: each poll is a Wait state, a Lambda
 * task that asks the zone, and a Choice (three transitions), and the end one more (Succeed). The
 * Lambda asks the zone as ours does (same memory, same assumed time). Nothing else is charged to it:
 * it keeps its state in the execution (no table), and its completion event is the free execution
 * status change event.
 */
export function stepFunctionsCost(polls: number, memoryMb: number): CostBreakdown {
  return {
    stepFunctionsTransition: (3 * polls + 1) * PRICES.stepFunctionsTransition.usd,
    lambdaRequest: polls * PRICES.lambdaRequest.usd,
    lambdaArmGbSecond: polls * gbSecondsPerCheck(memoryMb) * PRICES.lambdaArmGbSecond.usd,
  };
}

/** Checkpointed state per check: the job id and status (bytes). */
const DURABLE_STATE_BYTES = 256;
/** Durable executions keep their history 14 days after closing by default (DurableConfig RetentionPeriodInDays). */
const DURABLE_RETENTION_DAYS = 14;

/**
 * A Lambda durable function's `waitForCondition`, per task of `polls` checks. Documented model
 * (Durable Execution SDK, "Wait for Condition"): each check runs as a durable step, each further
 * check is a retry of it, and the function suspends between checks, so every check is one
 * invocation that replays the log and runs the check. Assumed, in the peer's favour: one billable
 * durable operation per check (the step attempt's checkpoint; the waits between checks and the
 * execution's start are not counted), the state checkpointed at each check {@link DURABLE_STATE_BYTES}
 * bytes, replay adding nothing to the check's time.
 */
export function durableCost(polls: number, memoryMb: number): CostBreakdown {
  const written = (polls * DURABLE_STATE_BYTES) / 1024 ** 3;
  return {
    durableOperation: polls * PRICES.durableOperation.usd,
    lambdaRequest: polls * PRICES.lambdaRequest.usd,
    lambdaArmGbSecond: polls * gbSecondsPerCheck(memoryMb) * PRICES.lambdaArmGbSecond.usd,
    durableDataWrittenGb: written * PRICES.durableDataWrittenGb.usd,
    durableDataRetainedGbMonth: written * (DURABLE_RETENTION_DAYS / 30) * PRICES.durableDataRetainedGbMonth.usd,
  };
}

/** The durable SDK's default wait strategy: 5 s × 1.5 up to 300 s, FULL jitter, 60 attempts. */
const DURABLE_DEFAULT = { initialSeconds: 5, rate: 1.5, capSeconds: 300, maxAttempts: 60 };

export interface MeteredRun {
  reports: CorpReport[];
  usage: AwsUsage;
  tasks: number;
  usd: CostBreakdown;
}

export async function meteredRun(options: SimulationOptions, settings: ServerlessSettings): Promise<MeteredRun> {
  const meter = new AwsMeter({
    memoryMb: settings.pollerMemoryMb,
    budgetWindowSeconds: (options.budgetWindows ?? DEFAULT_BUDGET_WINDOWS).map((window) => window.seconds),
  });
  const reports = await simulateCapacity({
    ...options,
    batch: { tickMs: BATCH_TICK_MS, size: settings.pollBatchSize },
    hooks: meter.hooks(),
  });
  const usage = meter.settleBatches();
  const tasks = reports.reduce((total, report) => total + report.finished, 0);
  return { reports, usage, tasks, usd: priceUsage(usage) };
}

/** `$0.0000123` or `$12.3` for a million. */
function usd(value: number): string {
  if (value >= 1) return `$${value.toFixed(2)}`;
  return `$${value.toPrecision(3)}`;
}

/**
 * The fleets the per-duration rows run: tasks of exactly D arriving evenly over D, one corp, as many
 * as fit its default budget (80 % of WeCom's 10 000 calls a minute and 150 000 an hour) without
 * waiting: a fleet over the budget pays a write per budget wait, and is row 7's subject, not this one's.
 */
export const COST_FLEETS: readonly { seconds: number; tasks: number }[] = [
  { seconds: 60, tasks: 500 },
  { seconds: 3600, tasks: 3_000 },
  { seconds: 86_400, tasks: 500 },
];

export interface CostReport {
  rows: BenchRow[];
  detail: Record<string, unknown>;
}

export async function measureCost(settings: ServerlessSettings = readServerlessSettings()): Promise<CostReport> {
  const rows: BenchRow[] = [];
  const detail: Record<string, unknown> = { pricesDate: PRICES_DATE, region: PRICES_REGION, settings };
  const memory = settings.pollerMemoryMb;
  const ours = schedulePolicy(DEFAULT_POLL_SCHEDULE, 'ours');
  const oursGrids = jitterGrids(ours);
  const durableDefault = cappedBackoffPolicy(
    DURABLE_DEFAULT.initialSeconds,
    DURABLE_DEFAULT.rate,
    DURABLE_DEFAULT.capSeconds,
  );
  const durableGrids = jitterGrids(durableDefault);

  for (const fleet of COST_FLEETS) {
    const label = formatSeconds(fleet.seconds);
    const fleetRun = await meteredRun(
      {
        corps: [{ corpId: 'corp-a', tasks: fleet.tasks, spreadMs: fleet.seconds * 1000 }],
        minJobSeconds: fleet.seconds,
        maxJobSeconds: fleet.seconds,
        fixedJobSeconds: fleet.seconds,
      },
      settings,
    );
    const alone = await meteredRun(
      {
        corps: [{ corpId: 'corp-a', tasks: 1 }],
        minJobSeconds: fleet.seconds,
        maxJobSeconds: fleet.seconds,
        fixedJobSeconds: fleet.seconds,
      },
      settings,
    );
    const perTask = sum(fleetRun.usd) / fleetRun.tasks;
    const alonePerTask = sum(alone.usd) / alone.tasks;
    const pollsPerTask = fleetRun.usage.polls / fleetRun.tasks;
    // The peers poll at our poll times (so at our worst detection delay), as often as we did.
    const worst = figuresAt(ours, oursGrids, fleet.seconds);
    const sfn = sum(stepFunctionsCost(pollsPerTask, memory));
    const durable = sum(durableCost(pollsPerTask, memory));
    const cheaper = Math.min(sfn, durable);
    const durableOwn = figuresAt(durableDefault, durableGrids, fleet.seconds);
    const durableOwnPolls = Math.min(durableOwn.polls, DURABLE_DEFAULT.maxAttempts);
    const ratio = perTask / cheaper;
    const isHour = fleet.seconds === 3600;
    rows.push({
      row: `8. cost per task, ${label} job`,
      ours:
        `${usd(perTask)} (${usd(perTask * 1e6)} per million; ${pollsPerTask.toFixed(1)} polls, ` +
        `${fleet.tasks} tasks arriving over ${label}, ${fleetRun.reports[0]?.budgetWaits ?? 0} budget waits); ` +
        `a task alone ${usd(alonePerTask)}`,
      baseline:
        `Step Functions ${usd(sfn)} (${usd(sfn * 1e6)}/M), durable waitForCondition ${usd(durable)} ` +
        `(${usd(durable * 1e6)}/M), both at our worst delay ${formatSeconds(worst.worstDelaySeconds)}; ` +
        `durable's default strategy: ${durableOwnPolls} checks, worst delay ${formatSeconds(durableOwn.worstDelaySeconds)}` +
        (durableOwn.polls > DURABLE_DEFAULT.maxAttempts ? ' (gives up after 60 checks first)' : ''),
      ratio,
      goal: isHour ? '≤ 0.20× the cheaper peer' : 'reported',
      met: isHour ? ratio <= 0.2 : null,
      detail: {
        fleet,
        usage: fleetRun.usage,
        usdPerTask: perTask,
        breakdownPerTask: scale(fleetRun.usd, 1 / fleetRun.tasks),
        alone: { usage: alone.usage, usdPerTask: alonePerTask, breakdown: alone.usd },
        stepFunctions: stepFunctionsCost(pollsPerTask, memory),
        durable: durableCost(pollsPerTask, memory),
        durableDefaultStrategy: {
          ...durableOwn,
          usdPerTask: sum(durableCost(durableOwnPolls, memory)),
        },
        worstDelaySeconds: worst.worstDelaySeconds,
      },
    });
    detail[`fleet ${label}`] = { fleet, usage: fleetRun.usage, alone: alone.usage };
    if (isHour) {
      const writesPerPoll = fleetRun.usage.dynamoWriteRequests / fleetRun.usage.polls;
      const unitsPerPoll = fleetRun.usage.dynamoWriteUnits / fleetRun.usage.polls;
      const aloneWrites = alone.usage.dynamoWriteRequests / alone.usage.polls;
      rows.push({
        row: '8. DynamoDB writes per poll, 1 h job',
        ours:
          `${writesPerPoll.toFixed(2)} (${unitsPerPoll.toFixed(2)} write units; task record ` +
          `${(fleetRun.usage.taskWrites / fleetRun.usage.polls).toFixed(2)}, budget ` +
          `${(fleetRun.usage.budgetWrites / fleetRun.usage.polls).toFixed(2)}); alone ${aloneWrites.toFixed(2)}`,
        baseline: 'every write of the task (create, polls, finish, notification) and of its budget ÷ polls',
        ratio: null,
        goal: '≤ 1.00',
        met: writesPerPoll <= 1,
        detail: { writesPerPoll, unitsPerPoll, aloneWrites, usage: fleetRun.usage },
      });
    }
    if (fleet.seconds === 86_400) {
      // Every notification retry is another receive: the event's attempts are the worst case.
      const worstCase = fleetRun.reports.reduce((max, report) => Math.max(max, report.maxReceives), 0);
      rows.push(receiveRow(`24 h job (${fleet.tasks} tasks)`, worstCase, settings, MAX_EVENT_ATTEMPTS - 1));
    }
  }

  const capacity = await meteredRun(CAPACITY_LOAD, settings);
  const capacityPerTask = sum(capacity.usd) / capacity.tasks;
  const capacityPolls = capacity.usage.polls / capacity.tasks;
  const capacitySfn = sum(stepFunctionsCost(capacityPolls, memory));
  const capacityDurable = sum(durableCost(capacityPolls, memory));
  rows.push({
    row: '8. cost per task, capacity run (11 000 tasks, 5 s–4 h jobs)',
    ours: `${usd(capacityPerTask)} (${usd(capacityPerTask * 1e6)} per million; ${capacityPolls.toFixed(1)} polls)`,
    baseline: `Step Functions ${usd(capacitySfn)}, durable waitForCondition ${usd(capacityDurable)} (same polls)`,
    ratio: capacityPerTask / Math.min(capacitySfn, capacityDurable),
    goal: 'reported',
    met: null,
    detail: { usage: capacity.usage, breakdownPerTask: scale(capacity.usd, 1 / capacity.tasks) },
  });
  const capacityMax = capacity.reports.reduce((max, report) => Math.max(max, report.maxReceives), 0);
  rows.push(receiveRow('capacity run (11 000 tasks)', capacityMax, settings, MAX_EVENT_ATTEMPTS - 1));
  detail.capacity = { usage: capacity.usage, reports: capacity.reports };
  return { rows, detail };
}

/** At most this share of maxReceiveCount may be used: the rest is the margin for crashes and duplicates. */
export const RECEIVE_MARGIN_SHARE = 0.8;

function receiveRow(
  what: string,
  measured: number,
  settings: ServerlessSettings,
  notificationRetries: number,
): BenchRow {
  const limit = settings.pollQueueMaxReceiveCount;
  // The simulated notifications succeed at once; each failed publish would be one more receive.
  const worst = measured + notificationRetries;
  return {
    row: `8. highest receive count of a poll message, ${what}`,
    ours: `${measured} (+ ${notificationRetries} if every completion event retry were needed: ${worst})`,
    baseline: `maxReceiveCount ${limit} (serverless.yml, PollQueue)`,
    ratio: worst / limit,
    goal: `≤ ${Math.round(RECEIVE_MARGIN_SHARE * 100)} % of maxReceiveCount (${Math.floor(RECEIVE_MARGIN_SHARE * limit)})`,
    met: worst <= RECEIVE_MARGIN_SHARE * limit,
    detail: { measured, worstWithRetries: worst, maxReceiveCount: limit },
  };
}

function scale(breakdown: CostBreakdown, factor: number): CostBreakdown {
  return Object.fromEntries(Object.entries(breakdown).map(([line, value]) => [line, (value ?? 0) * factor]));
}
