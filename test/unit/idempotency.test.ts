import { describe, expect, it, vi } from 'vitest';
import type { SubmittedTask } from '../../lib/create/submitTask.js';
import { CreateProgramTaskRequestSchema } from '../../lib/protocol/zone.js';
import { IdempotencyInProgressError, IdempotencyKeyReusedError } from '../../lib/tasks/errors.js';
import { createOnce, DEFAULT_IDEMPOTENCY, requestFingerprint } from '../../lib/tasks/idempotency.js';
import { MemoryIdempotencyStore } from '../../lib/tasks/memoryIdempotencyStore.js';
import { DOC_EXAMPLE_REQUEST, message } from '../support/fixtures.js';

const request = CreateProgramTaskRequestSchema.parse(DOC_EXAMPLE_REQUEST);
const task = (jobid: string): SubmittedTask => ({ jobid, status: 'PENDING', fail_list: [] });

describe('createOnce', () => {
  it('creates once per key and replays the first answer', async () => {
    const deps = { idempotency: new MemoryIdempotencyStore(), idempotencySettings: DEFAULT_IDEMPOTENCY };
    const create = vi.fn(async () => task('job-1'));
    expect(await createOnce('k1', request, deps, create)).toEqual({ task: task('job-1'), replayed: false });
    expect(await createOnce('k1', request, deps, create)).toEqual({ task: task('job-1'), replayed: true });
    expect(create).toHaveBeenCalledTimes(1);
  });

  it('makes a racing duplicate wait for the first request, then answers with its jobid', async () => {
    const deps = { idempotency: new MemoryIdempotencyStore(), idempotencySettings: DEFAULT_IDEMPOTENCY };
    let finishFirst: (value: SubmittedTask) => void = () => undefined;
    const create = vi.fn(() => new Promise<SubmittedTask>((resolve) => (finishFirst = resolve)));
    const first = createOnce('k', request, deps, create);
    const second = createOnce('k', request, deps, create);
    await new Promise((resolve) => setTimeout(resolve, 150));
    finishFirst(task('job-2'));
    expect((await first).task.jobid).toBe('job-2');
    expect(await second).toEqual({ task: task('job-2'), replayed: true });
    expect(create).toHaveBeenCalledTimes(1);
  });

  it('answers 409-worthy after the wait when the first request is still running', async () => {
    const deps = {
      idempotency: new MemoryIdempotencyStore(),
      idempotencySettings: { ...DEFAULT_IDEMPOTENCY, waitMs: 200 },
    };
    void createOnce('k', request, deps, () => new Promise<SubmittedTask>(() => undefined));
    await expect(createOnce('k', request, deps, async () => task('never'))).rejects.toBeInstanceOf(
      IdempotencyInProgressError,
    );
  });

  it('refuses the same key with a different request', async () => {
    const deps = { idempotency: new MemoryIdempotencyStore(), idempotencySettings: DEFAULT_IDEMPOTENCY };
    await createOnce('k', request, deps, async () => task('job-3'));
    const other = { ...request, msg_list: [message(3)] };
    await expect(createOnce('k', other, deps, async () => task('job-4'))).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
  });

  it('frees the key when creation fails, so a retry can create', async () => {
    const deps = { idempotency: new MemoryIdempotencyStore(), idempotencySettings: DEFAULT_IDEMPOTENCY };
    await expect(createOnce('k', request, deps, async () => Promise.reject(new Error('zone busy')))).rejects.toThrow(
      'zone busy',
    );
    expect((await createOnce('k', request, deps, async () => task('job-5'))).task.jobid).toBe('job-5');
  });

  it('takes over a claim left IN_PROGRESS by a request that died', async () => {
    let now = 1_000_000;
    const deps = {
      idempotency: new MemoryIdempotencyStore(),
      idempotencySettings: DEFAULT_IDEMPOTENCY,
      now: () => now,
    };
    void createOnce('k', request, deps, () => new Promise<SubmittedTask>(() => undefined));
    now += DEFAULT_IDEMPOTENCY.staleAfterMs + 1;
    expect((await createOnce('k', request, deps, async () => task('job-6'))).task.jobid).toBe('job-6');
  });

  it('fingerprints without keys or chat: a changed secret_key is the same request', () => {
    const changedKey = {
      ...request,
      msg_list: request.msg_list.map((m) => ({ ...m, encrypt_info: { secret_key: 'OTHER' } })),
    };
    expect(requestFingerprint(changedKey)).toBe(requestFingerprint(request));
    expect(requestFingerprint({ ...request, escape_type: 1 })).not.toBe(requestFingerprint(request));
  });
});
