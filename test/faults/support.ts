/**
 * Shared pieces of the fault scenarios: a seeded random source, a client that retries like a
 * careful user (same Idempotency-Key on 503 / 409; on 502 `zone_outcome_unknown` a new key, accepting the
 * risk of a second zone task that answer names: the emulator's injected -10002 fails before creating
 * anything), and the tally of what the store holds.
 */
import { randomUUID } from 'node:crypto';
import type { TaskStore } from '../../lib/tasks/port.js';
import { waitFor } from '../support/fixtures.js';

export { seededRandom } from '../../bench/random.js';

/** POST /tasks until it is accepted, with one Idempotency-Key for all the retries of one task. */
export async function submitWithRetries(
  url: string,
  body: unknown,
  maxTries = 30,
): Promise<{ jobid: string; tries: number }> {
  let key = randomUUID();
  for (let tries = 1; tries <= maxTries; tries++) {
    const response = await fetch(`${url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as { jobid?: string; error?: string };
    if (response.status === 202 && answer.jobid) return { jobid: answer.jobid, tries };
    const retryable = response.status === 503 || response.status === 409 || answer.error === 'zone_outcome_unknown';
    if (!retryable) throw new Error(`POST /tasks answered ${response.status}`);
    // The key keeps a zone_outcome_unknown answer (a retry with it repeats it): taking the risk means a new key.
    if (answer.error === 'zone_outcome_unknown') key = randomUUID();
    await new Promise((resolve) => setTimeout(resolve, 20 * tries));
  }
  throw new Error('POST /tasks never accepted');
}

/** Submit `count` copies of a request concurrently, each retried like a careful client; their jobids. */
export async function submitMany(url: string, count: number, body: unknown): Promise<string[]> {
  const submitted = await Promise.all(Array.from({ length: count }, () => submitWithRetries(url, body)));
  return submitted.map((s) => s.jobid);
}

export interface Tally {
  terminal: number;
  succeeded: number;
  lost: number;
  polls: number;
}

/** Wait until every task is terminal (or the time is up), then count. */
export async function settle(store: TaskStore, jobids: string[], timeoutMs = 60_000): Promise<Tally> {
  await waitFor(
    async () => {
      const tasks = await Promise.all(jobids.map((jobid) => store.get(jobid)));
      return tasks.every((task) => task && task.status !== 'PENDING') ? true : undefined;
    },
    timeoutMs,
    200,
  ).catch(() => undefined);
  const tasks = await Promise.all(jobids.map((jobid) => store.get(jobid)));
  return {
    terminal: tasks.filter((task) => task && task.status !== 'PENDING').length,
    succeeded: tasks.filter((task) => task?.status === 'SUCCEEDED').length,
    lost: tasks.filter((task) => !task || task.status === 'PENDING').length,
    polls: tasks.reduce((sum, task) => sum + (task?.attempts ?? 0), 0),
  };
}

/** Completions per jobid, from the poller's 'task finished' log lines. */
export function completions(lines: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) {
    const entry = JSON.parse(line) as { message: string; jobid?: string };
    if (entry.message === 'task finished' && entry.jobid) counts.set(entry.jobid, (counts.get(entry.jobid) ?? 0) + 1);
  }
  return counts;
}

export function duplicatedCompletions(lines: string[]): number {
  return [...completions(lines).values()].reduce((sum, count) => sum + Math.max(0, count - 1), 0);
}
