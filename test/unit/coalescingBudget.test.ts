/**
 * Budget tokens in blocks (`lib/budget/coalescingBudget.ts`): the concurrent steps of one batch take
 * their corp's calls with one grant of the inner budget, and a block that does not fit still grants
 * what does. Deterministic: counts of grants and of inner calls.
 */
import { describe, expect, it } from 'vitest';
import { CoalescingBudget } from '../../lib/budget/coalescingBudget.js';
import { MemoryCallBudget } from '../../lib/budget/memoryBudget.js';
import type { BudgetDecision, CallBudget } from '../../lib/budget/port.js';

const T0 = Date.parse('2026-11-30T10:00:00Z');

/** The inner budget's calls, as (corp, count). */
function recording(inner: CallBudget): { budget: CallBudget; calls: [string, number][] } {
  const calls: [string, number][] = [];
  return {
    calls,
    budget: {
      tryAcquire: (corpId, now, count = 1) => {
        calls.push([corpId, count]);
        return inner.tryAcquire(corpId, now, count);
      },
      exhaust: (corpId, now) => inner.exhaust(corpId, now),
    },
  };
}

describe('CoalescingBudget', () => {
  it('ten concurrent steps of one corp take one block of ten; another corp its own', async () => {
    const { budget, calls } = recording(new MemoryCallBudget([{ seconds: 60, limit: 100 }]));
    const coalescing = new CoalescingBudget(budget, { windowMs: 0 });
    const decisions = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => coalescing.tryAcquire('a', T0 + i)),
      coalescing.tryAcquire('b', T0),
    ]);
    expect(decisions.every((decision) => decision.granted)).toBe(true);
    expect(calls).toEqual([
      ['a', 10],
      ['b', 1],
    ]);
    // The next batch is a new block.
    await coalescing.tryAcquire('a', T0 + 1000);
    expect(calls.at(-1)).toEqual(['a', 1]);
  });

  it('a block that does not fit grants what fits, one by one, and refuses the rest', async () => {
    const { budget, calls } = recording(new MemoryCallBudget([{ seconds: 60, limit: 4 }]));
    const coalescing = new CoalescingBudget(budget, { windowMs: 0 });
    const decisions: BudgetDecision[] = await Promise.all(
      Array.from({ length: 10 }, () => coalescing.tryAcquire('a', T0)),
    );
    expect(decisions.filter((decision) => decision.granted)).toHaveLength(4);
    expect(decisions.find((decision) => !decision.granted)).toEqual({
      granted: false,
      retryAt: T0 + 61_000,
      reason: 'budget',
    });
    // The block, four singles granted, the fifth refused: six inner calls for ten steps.
    expect(calls).toEqual([['a', 10], ...Array.from({ length: 5 }, () => ['a', 1])]);
  });
});
