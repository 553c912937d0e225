/**
 * When to poll a task next. Each wait is a fixed fraction (`growth`) of the task's age, clamped to
 * [minWaitSeconds, maxWaitSeconds], with downward-only jitter. So the worst-case delay between a job
 * finishing and the task showing it is at most max(minWait, growth × job duration) until the cap,
 * and the number of polls grows with the logarithm of the duration (a 1 h job: at most 36 polls).
 * The defaults live in `config/poll-schedule.json`, which `serverless.yml` reads too, so the queue's
 * redrive and visibility settings follow the same numbers.
 */
import * as z from 'zod';
import defaults from '../../config/poll-schedule.json' with { type: 'json' };
import { MAX_DELAY_SECONDS, MAX_VISIBILITY_SECONDS } from '../queue/port.js';

export const PollScheduleSchema = z
  .object({
    /** DelaySeconds of the first poll message (SQS allows 0..900). */
    firstDelaySeconds: z.int().min(0).max(MAX_DELAY_SECONDS),
    minWaitSeconds: z.int().min(0),
    /** Each wait is this fraction of the task's age: the age grows ×(1 + growth) per poll. */
    growth: z.number().min(0).max(10),
    /** Each wait is shortened by a random fraction in [0, jitter): never lengthened. */
    jitter: z.number().min(0).max(1),
    /** Per-wait cap: a visibility change may hold a message up to 12 h. */
    maxWaitSeconds: z.int().min(0).max(MAX_VISIBILITY_SECONDS),
    /** After this many polls the task ends as TIMED_OUT. */
    maxAttempts: z.int().min(1),
    /** After this many seconds from creation the task ends as TIMED_OUT. */
    deadlineSeconds: z.int().min(1),
    /** How long a claimed poll step owns the task; must not exceed the queue's visibility timeout. */
    leaseSeconds: z.int().min(1),
  })
  .refine((s) => s.minWaitSeconds <= s.maxWaitSeconds, {
    message: 'minWaitSeconds must not exceed maxWaitSeconds',
    path: ['minWaitSeconds'],
  });
export type PollSchedule = z.infer<typeof PollScheduleSchema>;

export const DEFAULT_POLL_SCHEDULE: PollSchedule = PollScheduleSchema.parse(defaults);

/**
 * Seconds to wait before the next poll of a task that is `ageSeconds` old. Integer, because SQS
 * delays and visibility timeouts are whole seconds; rounded down, so the delay bound holds.
 *
 * @example
 * nextWaitSeconds(DEFAULT_POLL_SCHEDULE, 3600, 0) // 900: a quarter of an hour, at the cap
 */
export function nextWaitSeconds(schedule: PollSchedule, ageSeconds: number, random: number = Math.random()): number {
  const base = Math.min(schedule.maxWaitSeconds, Math.max(schedule.minWaitSeconds, schedule.growth * ageSeconds));
  const jittered = Math.floor(base * (1 - schedule.jitter * random));
  // Jitter spreads the waits but never goes under the minimum (nor turns a real wait into a hot loop).
  return Math.max(Math.min(schedule.minWaitSeconds, base), Math.min(1, Math.floor(base)), jittered);
}

/**
 * The wait after the `streak`-th transient answer in a row (busy, rate-limited, unreachable):
 * exponential from minWait (at least 1 s), capped, with the same downward jitter. The poller waits
 * the longer of this and the normal wait, so a struggling zone is not polled harder than a healthy one.
 *
 * @example
 * transientBackoffSeconds(DEFAULT_POLL_SCHEDULE, 3, 0) // 16: 2 s doubled three times
 */
export function transientBackoffSeconds(
  schedule: PollSchedule,
  streak: number,
  random: number = Math.random(),
): number {
  const base = Math.min(schedule.maxWaitSeconds, Math.max(1, schedule.minWaitSeconds) * 2 ** Math.min(streak, 30));
  return Math.max(Math.min(1, base), Math.floor(base * (1 - schedule.jitter * random)));
}
