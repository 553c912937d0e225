/**
 * Shared test data: the source document's own example request, and helpers.
 */

import { DOC_EXAMPLE_REQUEST } from '../../lib/protocol/examples.js';
import type { TaskRecord } from '../../lib/tasks/task.js';
import type { ProgramConfigInput } from '../../lib/zone/emulator/config.js';

export { DOC_EXAMPLE_REQUEST };

/** Strings that must never appear in a log line, stored record or queue message. */
export const SECRETS_AND_CHAT = [
  'SECRETKEY1',
  'SECRETKEY2',
  'SECRETKEY3',
  'SECRETKEY4',
  '今天天气真不错',
  '确实呀',
  '发货太慢',
];

export function message(index: number) {
  return { msgid: `MSGID${index}`, encrypt_info: { secret_key: `SECRETKEY${index}` } };
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A logger that keeps every line, for privacy scans. */
export function recordingLogger() {
  const lines: string[] = [];
  const record = (level: string) => (message: string, attributes?: unknown) => {
    lines.push(
      JSON.stringify({
        level,
        message,
        ...(attributes instanceof Error ? { error: attributes.message } : (attributes as object)),
      }),
    );
  };
  return { lines, debug: record('DEBUG'), info: record('INFO'), warn: record('WARN'), error: record('ERROR') };
}

/** POST a create request to a running API and wait until the task is no longer PENDING. */
export async function submitAndWait(
  url: string,
  body: unknown,
  timeoutMs = 20_000,
): Promise<{ jobid: string; task: { status: string; response_data: string } & Record<string, unknown> }> {
  const created = await fetch(`${url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (created.status !== 202) throw new Error(`POST /tasks answered ${created.status}`);
  const { jobid } = (await created.json()) as { jobid: string };
  const task = await waitFor(
    async () => {
      const view = (await (await fetch(`${url}/tasks/${jobid}`)).json()) as {
        status: string;
        response_data: string;
      } & Record<string, unknown>;
      return view.status === 'PENDING' ? undefined : view;
    },
    timeoutMs,
    200,
  );
  return { jobid, task };
}

/** A task record as `submitTask` stores it, for store and poll-step tests. */
export function taskRecord(overrides: Partial<TaskRecord> = {}): TaskRecord {
  const createdAt = Date.parse('2026-11-25T00:00:00Z');
  return {
    jobid: 'job1',
    status: 'PENDING',
    program_id: 'P',
    ability_id: 'A',
    corp_id: 'corp-a',
    escape_type: 0,
    message_count: 2,
    duplicate_list: [],
    attempts: 0,
    chain: 0,
    created_at: new Date(createdAt).toISOString(),
    updated_at: new Date(createdAt).toISOString(),
    next_poll_at: createdAt + 2000,
    deadline_at: createdAt + 86_400_000,
    expires_at: Math.floor(createdAt / 1000) + 86_400 * 31,
    ...overrides,
  };
}

/** A program whose ability reports only when the test makes it (through the emulator's callback). */
export function heldProgram(programId: string, abilityId: string): ProgramConfigInput {
  return {
    program_id: programId,
    abilities: [
      {
        ability_id: abilityId,
        input_protocol: '{"msg":"{chat}"}',
        output_protocol: '{"score": 1}',
        handler: { type: 'http', url: 'http://127.0.0.1:9/held-by-the-test' },
      },
    ],
  };
}

/**
 * A JSON client of the task API that keeps every answer body (for a privacy scan):
 * `api(method, path, body?)`, `create(corpId?, request?)` (POST /tasks with `corp_id` when given),
 * `finished(jobid)` (GET until the task leaves PENDING; throws after 20 s).
 */
export function recordingApiClient(baseUrl: () => string, answers: string[]) {
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    answers.push(text);
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
  };
  const create = (corpId: string | undefined, request: object = DOC_EXAMPLE_REQUEST) =>
    api('POST', '/tasks', { ...request, ...(corpId === undefined ? {} : { corp_id: corpId }) });
  const finished = async (jobid: string) => {
    for (let i = 0; i < 400; i++) {
      const { body } = await api('GET', `/tasks/${jobid}`);
      if (body.status !== 'PENDING') return body;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`task ${jobid} still pending`);
  };
  return { api, create, finished };
}
