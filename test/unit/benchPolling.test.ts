/**
 * The polling simulation behind `npm run bench` row 5: its virtual-clock arithmetic, and the
 * schedule goals it reports (deterministic, so they may be asserted, unlike timings).
 */
import { describe, expect, it } from 'vitest';
import {
  ALMOST_ONE,
  cappedBackoffPolicy,
  checkDelayBound,
  detect,
  fixedIntervalPolicy,
  pollTimes,
  promisedDelayBound,
  runPollingSimulation,
  schedulePolicy,
  worstDelayAround,
} from '../../bench/polling.js';
import { DEFAULT_POLL_SCHEDULE } from '../../lib/poll/schedule.js';

describe('virtual clock', () => {
  it('a fixed interval polls at 5, 10, 15 s; a 7 s job is seen by the 2nd poll, 3 s late, 5 s at worst', () => {
    const times = pollTimes(fixedIntervalPolicy(5), 20, 0);
    expect(times).toEqual([5, 10, 15, 20]);
    expect(detect(times, 7)).toEqual({ polls: 2, delaySeconds: 3 });
    expect(detect(times, 10)).toEqual({ polls: 2, delaySeconds: 0 });
    expect(worstDelayAround(times, 7)).toBe(5);
    // Before the first poll the gap starts at creation.
    expect(worstDelayAround(times, 1)).toBe(5);
  });

  it('the capped backoff grows its waits ×1.5 by poll count, then holds them at the cap', () => {
    const times = pollTimes(cappedBackoffPolicy(5, 1.5, 300), 3600, 0);
    expect(times.slice(0, 4)).toEqual([5, 12.5, 23.75, 40.625]);
    const gaps = times.slice(1).map((time, index) => time - (times[index] as number));
    expect(Math.max(...gaps)).toBe(300);
    expect(gaps.at(-1)).toBe(300);
  });

  it('our schedule lands its last poll on the deadline, as the poller clamps the wait', () => {
    const policy = schedulePolicy(DEFAULT_POLL_SCHEDULE, 'ours');
    for (const random of [0, ALMOST_ONE]) {
      const times = pollTimes(policy, DEFAULT_POLL_SCHEDULE.deadlineSeconds, random);
      expect(times.at(-1)).toBe(DEFAULT_POLL_SCHEDULE.deadlineSeconds);
      expect(times.length).toBeLessThanOrEqual(DEFAULT_POLL_SCHEDULE.maxAttempts);
    }
  });

  it('the bound check finds the worst job duration of every gap: just after the previous poll', () => {
    // Fixed 5 s against max(2 s, 25 %): a job ending just after the 5 s poll waits 5 s against a 2 s bound.
    const check = checkDelayBound(pollTimes(fixedIntervalPolicy(5), 100, 0), 1, 100, promisedDelayBound);
    expect(check).toEqual({ worstRatio: 2.5, atDurationSeconds: 5, delaySeconds: 5 });
  });

  it('agrees with sampling every job duration densely (the check is a supremum, never below a sample)', () => {
    const times = pollTimes(schedulePolicy(DEFAULT_POLL_SCHEDULE, 'ours'), 4000, 0);
    const { worstRatio } = checkDelayBound(times, 1, 4000, promisedDelayBound);
    let sampledWorst = 0;
    for (let duration = 1; duration <= 4000; duration += 0.01) {
      sampledWorst = Math.max(sampledWorst, detect(times, duration).delaySeconds / promisedDelayBound(duration));
    }
    expect(sampledWorst).toBeLessThanOrEqual(worstRatio + 1e-9);
    expect(sampledWorst).toBeGreaterThan(worstRatio - 0.01);
  });
});

describe('the default schedule against the issue goals', () => {
  it('meets every row-5 goal: the delay bound, ≤ 40 polls for 1 h, fewer polls than 5 s × 1.5 from 6 h', () => {
    const { rows } = runPollingSimulation();
    expect(rows.map((row) => [row.row, row.met])).toEqual(rows.map((row) => [row.row, true]));
  });
});
