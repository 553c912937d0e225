/**
 * Row 5: polling efficiency, simulated on a virtual clock (no waiting, fully deterministic).
 *
 * A task is created at t = 0 and its job finishes at t = D. Polls run at the times a policy gives;
 * the first poll at or after D sees the result. Polls per job = how many polls ran up to and
 * including that one; detection delay = that poll's time minus D. Processing time of each poll
 * (SQS delivery, Lambda, the zone call) is left out: it adds alike to every policy.
 *
 * Worst cases: jitter is evaluated at both ends (random = 0 gives the longest waits, so the longest
 * delays; random ≈ 1 the shortest waits, so the most polls), and the delay reported for a duration
 * D is the worst over every job that ends in the same gap between two polls, i.e. one that ended
 * just after the previous poll. That is the delay a user can actually get for "a job of about D".
 */
import { DEFAULT_POLL_SCHEDULE, nextWaitSeconds, type PollSchedule, PollScheduleSchema } from '../lib/poll/schedule.js';
import { type BenchRow, formatSeconds, markdownTable } from './stats.js';

/** What the simulation needs of a polling policy. */
export interface PollPolicy {
  label: string;
  firstDelaySeconds: number;
  /** Seconds until the next poll after poll number `pollNumber` (1-based), made at `ageSeconds`. */
  waitAfter(pollNumber: number, ageSeconds: number, random: number): number;
  /** Polls after which the policy gives up (TIMED_OUT), if any. */
  maxPolls?: number;
}

/** "random ≈ 1": the shortest waits jitter can produce (random is drawn from [0, 1)). */
export const ALMOST_ONE = 0.999_999;

const SECOND = 1;
const MINUTE = 60;
const HOUR = 3600;

/** The durations the report shows, 1 s to 24 h. */
export const REPORTED_DURATIONS: readonly number[] = [
  1,
  2,
  5,
  10,
  30,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  30 * MINUTE,
  HOUR,
  2 * HOUR,
  6 * HOUR,
  12 * HOUR,
  24 * HOUR,
];
const LONGEST_DURATION = 24 * HOUR;

/**
 * Our poller, exactly as `lib/poll/pollTask.ts` waits: `nextWaitSeconds`, shortened so the last
 * poll lands on the deadline (a poll at the deadline still sees a finished job before it would
 * time the task out).
 */
export function schedulePolicy(schedule: PollSchedule, label: string): PollPolicy {
  return {
    label,
    firstDelaySeconds: schedule.firstDelaySeconds,
    maxPolls: schedule.maxAttempts,
    waitAfter: (_pollNumber, ageSeconds, random) =>
      Math.max(
        0,
        Math.min(nextWaitSeconds(schedule, ageSeconds, random), Math.ceil(schedule.deadlineSeconds - ageSeconds)),
      ),
  };
}

/** A poll every `intervalSeconds`, the first one after one interval. */
export function fixedIntervalPolicy(intervalSeconds: number): PollPolicy {
  return { label: `fixed ${intervalSeconds} s`, firstDelaySeconds: intervalSeconds, waitAfter: () => intervalSeconds };
}

/**
 * Exponential backoff by poll count: waits of initial, initial×rate, … capped at `capSeconds`. AWS
 * durable functions' default wait strategy is this with 5 s × 1.5 up to 300 s, plus FULL jitter
 * and 60 attempts; we model it without jitter (its fewest polls) and without the attempt limit
 * (which would end it after about 4.3 h), so the comparison favours it on polls.
 */
export function cappedBackoffPolicy(initialSeconds: number, rate: number, capSeconds: number): PollPolicy {
  return {
    label: `${initialSeconds} s × ${rate} capped at ${capSeconds} s`,
    firstDelaySeconds: initialSeconds,
    waitAfter: (pollNumber) => Math.min(capSeconds, initialSeconds * rate ** pollNumber),
  };
}

/**
 * Poll times (seconds after creation) with a fixed jitter draw, up to and including the first poll
 * at or after `horizonSeconds`. Stops early where the policy would end the task (a zero wait at
 * the deadline).
 */
export function pollTimes(policy: PollPolicy, horizonSeconds: number, random: number): number[] {
  const times: number[] = [policy.firstDelaySeconds];
  let now = policy.firstDelaySeconds;
  while (now < horizonSeconds) {
    const wait = policy.waitAfter(times.length, now, random);
    // A zero wait only happens at the deadline, where the poller ends the task instead.
    if (wait <= 0) break;
    now += wait;
    times.push(now);
  }
  return times;
}

export interface Detection {
  /** Polls run until the result was seen (Infinity: never seen within the simulated polls). */
  polls: number;
  delaySeconds: number;
}

/** The poll that sees a job finishing at `durationSeconds`. */
export function detect(times: readonly number[], durationSeconds: number): Detection {
  const index = times.findIndex((time) => time >= durationSeconds);
  if (index < 0) return { polls: Number.POSITIVE_INFINITY, delaySeconds: Number.POSITIVE_INFINITY };
  return { polls: index + 1, delaySeconds: (times[index] as number) - durationSeconds };
}

/**
 * The worst delay for a job of about `durationSeconds`: one that ends just after the last poll
 * before it, so it waits the whole gap. (Before the first poll the gap starts at creation.)
 */
export function worstDelayAround(times: readonly number[], durationSeconds: number): number {
  const index = times.findIndex((time) => time >= durationSeconds);
  if (index < 0) return Number.POSITIVE_INFINITY;
  const previous = index === 0 ? 0 : (times[index - 1] as number);
  return (times[index] as number) - previous;
}

export interface BoundCheck {
  /** The largest delay ÷ bound over every job duration in the range: ≤ 1 means the bound holds. */
  worstRatio: number;
  /** Where it happens: the job duration (its supremum) and the delay there. */
  atDurationSeconds: number;
  delaySeconds: number;
}

/**
 * Checks `delay(D) ≤ bound(D)` for every real D in [fromSeconds, toSeconds], not only sampled ones.
 * Within one gap (t₍ₖ₋₁₎, tₖ] the delay tₖ − D falls as D grows while a non-decreasing bound does
 * not, so the worst D of each gap is its start; the ratio there is a supremum, approached by a job
 * ending just after t₍ₖ₋₁₎.
 */
export function checkDelayBound(
  times: readonly number[],
  fromSeconds: number,
  toSeconds: number,
  bound: (durationSeconds: number) => number,
): BoundCheck {
  let worst: BoundCheck = { worstRatio: 0, atDurationSeconds: fromSeconds, delaySeconds: 0 };
  let previous = 0;
  for (const time of times) {
    const start = Math.max(previous, fromSeconds);
    previous = time;
    if (start >= toSeconds) break;
    if (time <= start) continue;
    const delay = time - start;
    const ratio = delay / bound(start);
    if (ratio > worst.worstRatio) worst = { worstRatio: ratio, atDurationSeconds: start, delaySeconds: delay };
  }
  return worst;
}

/** The promise for our default: max(2 s, 25 % of D), and the 900 s cap once 25 % exceeds it. */
export function promisedDelayBound(durationSeconds: number): number {
  return Math.max(2, Math.min(0.25 * durationSeconds, 900));
}

/** Polls and worst delay at one duration, worst over both ends of the jitter. */
export interface DurationFigures {
  durationSeconds: number;
  polls: number;
  worstDelaySeconds: number;
  /** The poller would have ended the task as TIMED_OUT (maxAttempts) before seeing the result. */
  exceedsMaxPolls: boolean;
}

export function figuresAt(
  policy: PollPolicy,
  grids: readonly (readonly number[])[],
  durationSeconds: number,
): DurationFigures {
  const polls = Math.max(...grids.map((times) => detect(times, durationSeconds).polls));
  return {
    durationSeconds,
    polls,
    worstDelaySeconds: Math.max(...grids.map((times) => worstDelayAround(times, durationSeconds))),
    exceedsMaxPolls: policy.maxPolls !== undefined && polls > policy.maxPolls,
  };
}

/** Both ends of the jitter; a policy without jitter gives the same grid twice, which is harmless. */
export function jitterGrids(policy: PollPolicy, horizonSeconds: number = LONGEST_DURATION): number[][] {
  return [pollTimes(policy, horizonSeconds, 0), pollTimes(policy, horizonSeconds, ALMOST_ONE)];
}

export interface PollingReport {
  rows: BenchRow[];
  frontierMarkdown: string;
  detail: {
    perDuration: Record<string, DurationFigures[]>;
    frontier: { label: string; growth: number | null; cells: DurationFigures[]; worstDelayShareOfDuration: number }[];
  };
}

const FRONTIER_DURATIONS: readonly number[] = [10 * SECOND, MINUTE, 10 * MINUTE, HOUR, 6 * HOUR, 24 * HOUR];
export const FRONTIER_GROWTH_FACTORS: readonly number[] = [0.1, 0.15, 0.25, 0.35, 0.5, 1.0];

function withGrowth(growth: number): PollSchedule {
  return PollScheduleSchema.parse({ ...DEFAULT_POLL_SCHEDULE, growth });
}

export function runPollingSimulation(schedule: PollSchedule = DEFAULT_POLL_SCHEDULE): PollingReport {
  const ours = schedulePolicy(schedule, `ours (growth ${schedule.growth})`);
  const fixed = fixedIntervalPolicy(5);
  const backoff = cappedBackoffPolicy(5, 1.5, 300);
  const policies = [ours, fixed, backoff];
  const grids = new Map(policies.map((policy) => [policy, jitterGrids(policy)]));
  const gridsOf = (policy: PollPolicy) => grids.get(policy) as number[][];
  const at = (policy: PollPolicy, duration: number) => figuresAt(policy, gridsOf(policy), duration);

  const perDuration = Object.fromEntries(
    policies.map((policy) => [policy.label, REPORTED_DURATIONS.map((d) => at(policy, d))]),
  );

  // Goal 1: the delay bound, checked for every duration from 1 s to 24 h on both jitter grids.
  const boundCheck = (policy: PollPolicy) =>
    gridsOf(policy)
      .map((times) => checkDelayBound(times, 1, LONGEST_DURATION, promisedDelayBound))
      .reduce((worst, check) => (check.worstRatio > worst.worstRatio ? check : worst));
  const oursBound = boundCheck(ours);
  const backoffBound = boundCheck(backoff);

  // Goal 3: fewer polls than the capped ×1.5 schedule for every job of 6 h or more (each minute to 24 h).
  let longJobsCompared = 0;
  let longJobsWon = 0;
  let closestLongJob = { durationSeconds: 0, ours: 0, baseline: 0 };
  for (let duration = 6 * HOUR; duration <= LONGEST_DURATION; duration += MINUTE) {
    const oursPolls = at(ours, duration).polls;
    const baselinePolls = at(backoff, duration).polls;
    longJobsCompared += 1;
    if (oursPolls < baselinePolls) longJobsWon += 1;
    if (
      closestLongJob.durationSeconds === 0 ||
      oursPolls / baselinePolls > closestLongJob.ours / closestLongJob.baseline
    ) {
      closestLongJob = { durationSeconds: duration, ours: oursPolls, baseline: baselinePolls };
    }
  }

  const oneHourOurs = at(ours, HOUR);
  const oneHourBaseline = at(backoff, HOUR);
  const rows: BenchRow[] = [
    {
      row: '5. worst detection delay ÷ max(2 s, 25 % of D), D = 1 s–24 h',
      ours: `${oursBound.worstRatio.toFixed(2)} (${formatSeconds(oursBound.delaySeconds)} at D ≈ ${formatSeconds(oursBound.atDurationSeconds)})`,
      baseline: `${backoffBound.worstRatio.toFixed(2)} (${backoff.label})`,
      ratio: oursBound.worstRatio / backoffBound.worstRatio,
      goal: '≤ 1.00',
      met: oursBound.worstRatio <= 1,
      detail: { ours: oursBound, baseline: backoffBound, bound: 'max(2 s, min(25 % of D, 900 s))' },
    },
    {
      row: '5. polls for a 1 h job',
      ours: `${oneHourOurs.polls}`,
      baseline: `${oneHourBaseline.polls} (${backoff.label})`,
      ratio: oneHourOurs.polls / oneHourBaseline.polls,
      goal: '≤ 40 polls',
      met: oneHourOurs.polls <= 40,
      detail: {
        ours: oneHourOurs,
        // Any jitter draw above 0 already shortens the 2 s minimum wait to 1 s (floor of 2 × 0.9…),
        // so the no-jitter figure is a best case, not a typical one.
        oursWithoutJitter: detect(pollTimes(ours, HOUR, 0), HOUR).polls,
        oursWithMedianJitter: detect(pollTimes(ours, HOUR, 0.5), HOUR).polls,
        baseline: oneHourBaseline,
        fixed5s: at(fixed, HOUR),
      },
    },
    ...[6 * HOUR, 24 * HOUR].map((duration): BenchRow => {
      const oursAt = at(ours, duration);
      const baselineAt = at(backoff, duration);
      return {
        row: `5. polls for a ${formatSeconds(duration)} job`,
        ours: `${oursAt.polls}`,
        baseline: `${baselineAt.polls} (${backoff.label})`,
        ratio: oursAt.polls / baselineAt.polls,
        goal: `fewer than baseline for every D ≥ 6 h (${longJobsWon}/${longJobsCompared} minutes)`,
        met: longJobsWon === longJobsCompared,
        detail: { ours: oursAt, baseline: baselineAt, fixed5s: at(fixed, duration), closestLongJob },
      };
    }),
  ];

  const frontierPolicies: { policy: PollPolicy; growth: number | null }[] = [
    ...FRONTIER_GROWTH_FACTORS.map((growth) => ({
      policy: schedulePolicy(
        withGrowth(growth),
        growth === schedule.growth ? `growth ${growth} (default)` : `growth ${growth}`,
      ),
      growth,
    })),
    { policy: fixed, growth: null },
    { policy: backoff, growth: null },
  ];
  const frontier = frontierPolicies.map(({ policy, growth }) => {
    const policyGrids = jitterGrids(policy);
    const share = Math.max(
      ...policyGrids.map((times) => checkDelayBound(times, MINUTE, HOUR, (duration) => duration).worstRatio),
    );
    return {
      label: policy.label,
      growth,
      cells: FRONTIER_DURATIONS.map((d) => figuresAt(policy, policyGrids, d)),
      worstDelayShareOfDuration: share,
    };
  });
  const frontierMarkdown = markdownTable(
    ['schedule', ...FRONTIER_DURATIONS.map((d) => `${formatSeconds(d)} job`), 'worst delay ÷ D (1 min–1 h)'],
    frontier.map(({ label, cells, worstDelayShareOfDuration }) => [
      label,
      ...cells.map(
        (cell) => `${cell.polls}${cell.exceedsMaxPolls ? '†' : ''} / ${formatSeconds(cell.worstDelaySeconds)}`,
      ),
      `${(worstDelayShareOfDuration * 100).toFixed(0)} %`,
    ]),
  );
  return { rows, frontierMarkdown, detail: { perDuration, frontier } };
}

/** For the per-duration table in the JSON and docs/performance.md: `polls / worst delay` of each policy. */
export function perDurationMarkdown(perDuration: Record<string, DurationFigures[]>): string {
  const labels = Object.keys(perDuration);
  return markdownTable(
    ['job duration', ...labels.map((label) => `${label}: polls / worst delay`)],
    REPORTED_DURATIONS.map((duration, index) => [
      formatSeconds(duration),
      ...labels.map((label) => {
        const cell = perDuration[label]?.[index];
        return cell ? `${cell.polls} / ${formatSeconds(cell.worstDelaySeconds)}` : '—';
      }),
    ]),
  );
}
