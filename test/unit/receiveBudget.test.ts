/**
 * Receives are a budget: every receive of a poll message (its polls, budget waits, unclaimed
 * settles, notification retries) counts toward the poll queue's maxReceiveCount, and past it the
 * message goes to the dead-letter queue. The bound read from serverless.yml itself; the counts from
 * the simulation on a virtual clock (`bench/simulation.ts`), deterministic.
 */
import { describe, expect, it } from 'vitest';
import { RECEIVE_MARGIN_SHARE } from '../../bench/cost.js';
import { readServerlessSettings } from '../../bench/serverlessSettings.js';
import { simulateCapacity } from '../../bench/simulation.js';
import { MAX_EVENT_ATTEMPTS } from '../../lib/notify/notifyCompletion.js';

const { pollQueueMaxReceiveCount } = readServerlessSettings();
/** What a message may use: the rest of maxReceiveCount is kept for crashes and duplicate deliveries. */
const ALLOWED = Math.floor(RECEIVE_MARGIN_SHARE * pollQueueMaxReceiveCount);
/** A completion event that fails every publish but the last is that many more receives. */
const NOTIFICATION_RETRIES = MAX_EVENT_ATTEMPTS - 1;

describe('receives of a poll message stay below the poll queue’s maxReceiveCount, with a margin', () => {
  it('reads maxReceiveCount from serverless.yml', () => {
    expect(pollQueueMaxReceiveCount).toBeGreaterThan(0);
  });

  it('a job that never reports: polled until the 24 h deadline, then every completion retry', async () => {
    const [report] = await simulateCapacity({
      corps: [{ corpId: 'corp-a', tasks: 1 }],
      minJobSeconds: 3 * 86_400,
      maxJobSeconds: 3 * 86_400,
      fixedJobSeconds: 3 * 86_400,
    });
    expect(report?.finished).toBe(1);
    // Every receive was a poll: 24 h of the default schedule.
    expect(report?.maxReceives).toBe(report?.polls);
    expect((report?.maxReceives ?? Infinity) + NOTIFICATION_RETRIES).toBeLessThanOrEqual(ALLOWED);
  });

  it('a budget far below the load: waits and settles add receives, still inside the margin', async () => {
    const [report] = await simulateCapacity({
      corps: [{ corpId: 'corp-a', tasks: 3000 }],
      minJobSeconds: 5,
      maxJobSeconds: 4 * 3600,
      budgetWindows: [
        { seconds: 60, limit: 400 },
        { seconds: 3600, limit: 12_000 },
      ],
      seed: 16,
    });
    expect(report?.finished).toBe(3000);
    expect(report?.budgetWaits).toBeGreaterThan(1000);
    expect(report?.receives).toBeGreaterThan(report?.polls ?? 0);
    expect((report?.maxReceives ?? Infinity) + NOTIFICATION_RETRIES).toBeLessThanOrEqual(ALLOWED);
  }, 60_000);
});
