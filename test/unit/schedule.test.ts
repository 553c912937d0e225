import { describe, expect, it } from 'vitest';
import { commonConfig } from '../../lib/config.js';
import { DEFAULT_POLL_SCHEDULE, nextWaitSeconds, type PollSchedule } from '../../lib/poll/schedule.js';
import { ConfigurationError } from '../../lib/shared/env.js';

/** Poll times (s after creation) of a task that never finishes, until `horizon`. */
function pollTimes(schedule: PollSchedule, horizon: number, random: () => number): number[] {
  const times: number[] = [];
  let t = schedule.firstDelaySeconds;
  while (t <= horizon) {
    times.push(t);
    t += nextWaitSeconds(schedule, t, random());
  }
  return times;
}

/** Polls needed and the delay between a job finishing at `duration` and the poll that sees it. */
function detect(schedule: PollSchedule, duration: number, random: () => number) {
  const times = pollTimes(schedule, duration * 2 + 1000, random);
  const index = times.findIndex((t) => t >= duration);
  return { polls: index + 1, delay: (times[index] ?? Number.NaN) - duration };
}

const noJitter = () => 0;
const fullJitter = () => 0.999999;

describe('poll schedule defaults', () => {
  it('waits a quarter of the task age, between 2 s and the 900 s cap', () => {
    expect(nextWaitSeconds(DEFAULT_POLL_SCHEDULE, 1, 0)).toBe(2);
    expect(nextWaitSeconds(DEFAULT_POLL_SCHEDULE, 100, 0)).toBe(25);
    expect(nextWaitSeconds(DEFAULT_POLL_SCHEDULE, 36_000, 0)).toBe(900);
  });

  it('jitter only ever shortens a wait, by less than 10 %', () => {
    for (let age = 0; age < 10_000; age += 37) {
      const base = nextWaitSeconds(DEFAULT_POLL_SCHEDULE, age, 0);
      const jittered = nextWaitSeconds(DEFAULT_POLL_SCHEDULE, age, 0.999);
      expect(jittered).toBeLessThanOrEqual(base);
      expect(jittered).toBeGreaterThanOrEqual(Math.max(1, Math.floor(base * 0.9)));
    }
  });

  it('detects a finished job within max(2 s, 25 % of its duration) until the cap', () => {
    for (const duration of [1, 2.5, 5, 9, 30, 61, 300, 1000, 3000, 3599]) {
      for (const random of [noJitter, fullJitter]) {
        const { delay } = detect(DEFAULT_POLL_SCHEDULE, duration, random);
        expect(delay).toBeLessThanOrEqual(Math.max(2, 0.25 * duration));
      }
    }
  });

  it('needs at most 40 polls for a 1 h job, even when jitter shortens every wait', () => {
    expect(detect(DEFAULT_POLL_SCHEDULE, 3600, fullJitter).polls).toBeLessThanOrEqual(40);
  });

  it('fits the default deadline within maxAttempts polls (the redrive count allows more)', () => {
    const polls = pollTimes(DEFAULT_POLL_SCHEDULE, DEFAULT_POLL_SCHEDULE.deadlineSeconds, fullJitter).length;
    expect(polls).toBeLessThan(DEFAULT_POLL_SCHEDULE.maxAttempts);
  });
});

describe('schedule configuration', () => {
  it('reads POLL_* variables over the defaults', () => {
    const { schedule } = commonConfig({ POLL_FIRST_DELAY_SECONDS: '5', POLL_GROWTH: '0.5' });
    expect(schedule).toMatchObject({ firstDelaySeconds: 5, growth: 0.5, maxWaitSeconds: 900 });
  });

  it('refuses values SQS cannot honour, naming the setting', () => {
    expect(() => commonConfig({ POLL_FIRST_DELAY_SECONDS: '901' })).toThrow(/firstDelaySeconds/);
    expect(() => commonConfig({ POLL_MAX_WAIT_SECONDS: '50000' })).toThrow(ConfigurationError);
    expect(() => commonConfig({ POLL_MIN_WAIT_SECONDS: '1000' })).toThrow(/minWaitSeconds/);
    expect(() => commonConfig({ POLL_GROWTH: 'fast' })).toThrow(/POLL_GROWTH/);
    expect(() => commonConfig({ ZONE_PENDING_ERRCODES: '710642,soon' })).toThrow(/ZONE_PENDING_ERRCODES/);
  });
});
