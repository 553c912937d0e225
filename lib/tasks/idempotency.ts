/**
 * Idempotent creation: a client retry with the same `Idempotency-Key` gets the same jobid, and the
 * zone creates one task, also when the two requests race. Our own conditional write rather than
 * Powertools idempotency, because a racing duplicate should *wait* for the first request and answer
 * with its jobid (Powertools answers it at once with `IdempotencyAlreadyInProgressError`). Powertools
 * could hash a chosen part of the request too (`eventKeyJmesPath`, `payloadValidationJmesPath`); our
 * fingerprint leaves out secret keys and chat text. docs/decisions.md.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { errorKind, type Log } from '../log.js';
import type { CreateProgramTaskRequest } from '../protocol/zone.js';
import { checkItemSize } from './itemSize.js';
import type { SubmittedTask } from './submitTask.js';

/**
 * How a request ended when the zone may hold a task we do not track: its answer is kept with the key,
 * so a retry with the same key gets the same answer instead of creating another zone task.
 */
export const SettledFailureSchema = z.object({
  /** `zone_outcome_unknown`: the call failed after it was sent; `task_not_recorded`: created, not stored. */
  error: z.enum(['zone_outcome_unknown', 'task_not_recorded']),
  /** The zone's jobid, when it answered one. */
  jobid: z.string().optional(),
  errcode: z.int().optional(),
  /** What happened, as our own words (never the zone's errmsg, never request content). */
  reason: z.string(),
});
export type SettledFailure = z.infer<typeof SettledFailureSchema>;

export type IdempotencyClaim =
  /** This request owns the key: create the task, then complete, fail or release the key. */
  | { kind: 'claimed' }
  | { kind: 'completed'; fingerprint: string; response: SubmittedTask }
  /** The first request ended in a failure that must not be retried with this key. */
  | { kind: 'failed'; fingerprint: string; failure: SettledFailure }
  | { kind: 'in_progress'; fingerprint: string };

export interface IdempotencyStore {
  /**
   * Claim `key` unless a record exists; a record still IN_PROGRESS after `staleAfter` (its owner
   * died: longer than the create function's timeout) may be claimed again.
   */
  claim(
    key: string,
    fingerprint: string,
    now: number,
    options: { staleAfterMs: number; expiresAt: number },
  ): Promise<IdempotencyClaim>;
  get(key: string): Promise<IdempotencyClaim | undefined>;
  complete(key: string, response: SubmittedTask): Promise<void>;
  /** The request failed after the zone may have created a task: keep the answer with the key. */
  fail(key: string, failure: SettledFailure): Promise<void>;
  /** The request failed before a task existed: the key is free again. */
  release(key: string): Promise<void>;
}

export interface IdempotencySettings {
  /** How long a key is remembered. */
  ttlSeconds: number;
  /** How long a duplicate waits for the first request before answering 409. */
  waitMs: number;
  /** An IN_PROGRESS claim older than this belongs to a request that died. */
  staleAfterMs: number;
}

export const DEFAULT_IDEMPOTENCY: IdempotencySettings = { ttlSeconds: 86_400, waitMs: 10_000, staleAfterMs: 30_000 };

/** Idempotency-Key: 1..255 visible ASCII characters (as the IETF draft and Stripe accept). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The stored key: a digest, so any client key fits and none is stored as given. */
export function idempotencyRecordKey(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}

/**
 * What makes two requests "the same" for a key: program, ability, msgids in order, escape type and
 * whether debug content was given. Never a secret_key or chat text, not even hashed.
 */
export function requestFingerprint(request: CreateProgramTaskRequest): string {
  const material = JSON.stringify([
    request.program_id,
    request.ability_id,
    request.msg_list.map((message) => message.msgid),
    request.escape_type,
    request.debug_info !== undefined,
  ]);
  return createHash('sha256').update(material).digest('base64url');
}

/** In-process adapter (`npm start`, tests), with the DynamoDB adapter's semantics and item limit. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly #records = new Map<
    string,
    { fingerprint: string; claimedAt: number; response?: SubmittedTask; failure?: SettledFailure; expiresAt: number }
  >();

  async claim(
    key: string,
    fingerprint: string,
    now: number,
    options: { staleAfterMs: number; expiresAt: number },
  ): Promise<IdempotencyClaim> {
    const existing = this.#records.get(key);
    const expired = existing && existing.expiresAt * 1000 <= now;
    // Only a claim that never settled can be stale: a settled failure stays with its key until it expires.
    const stale =
      existing && !existing.response && !existing.failure && existing.claimedAt + options.staleAfterMs <= now;
    if (!existing || expired || stale) {
      this.#records.set(key, { fingerprint, claimedAt: now, expiresAt: options.expiresAt });
      return { kind: 'claimed' };
    }
    return (await this.get(key)) as IdempotencyClaim;
  }

  async get(key: string): Promise<IdempotencyClaim | undefined> {
    const record = this.#records.get(key);
    if (!record) return undefined;
    if (record.failure)
      return { kind: 'failed', fingerprint: record.fingerprint, failure: structuredClone(record.failure) };
    return record.response
      ? { kind: 'completed', fingerprint: record.fingerprint, response: structuredClone(record.response) }
      : { kind: 'in_progress', fingerprint: record.fingerprint };
  }

  async complete(key: string, response: SubmittedTask): Promise<void> {
    const record = this.#records.get(key);
    // The DynamoDB adapter stores the answer as JSON in one item: the same limit applies.
    checkItemSize({ idempotency_key: key, fingerprint: record?.fingerprint, response: JSON.stringify(response) });
    if (record) record.response = structuredClone(response);
  }

  async fail(key: string, failure: SettledFailure): Promise<void> {
    const record = this.#records.get(key);
    if (record) record.failure = structuredClone(failure);
  }

  async release(key: string): Promise<void> {
    this.#records.delete(key);
  }

  /** Forget the keys whose `expiresAt` (epoch seconds) has passed, as DynamoDB's TTL does on AWS. */
  async purgeExpired(now: number): Promise<number> {
    const nowSeconds = Math.floor(now / 1000);
    let deleted = 0;
    for (const [key, record] of this.#records) {
      if (record.expiresAt > nowSeconds) continue;
      this.#records.delete(key);
      deleted += 1;
    }
    return deleted;
  }
}

/** The key was used before with a different request. */
export class IdempotencyKeyReusedError extends Error {
  override readonly name = 'IdempotencyKeyReusedError';
}

/** The first request with this key is still running after the wait. */
export class IdempotencyInProgressError extends Error {
  override readonly name = 'IdempotencyInProgressError';
}

export interface IdempotencyDependencies {
  idempotency: IdempotencyStore;
  idempotencySettings: IdempotencySettings;
  now?: () => number;
  logger?: Log;
  /**
   * Which errors of `create` leave a zone task we may not track (their answer is kept with the key);
   * `submitTask.ts` provides it (`settledFailureOf`). Without it every error frees the key.
   */
  settledFailure?: (error: unknown) => SettledFailure | undefined;
}

/** The task, and whether it is a replay of an earlier request's answer. */
export interface IdempotentResult {
  task: SubmittedTask;
  replayed: boolean;
}

/**
 * Run `create` once per key. A duplicate gets the first answer; a racing duplicate waits for it.
 *
 * @example
 * const { task } = await createOnce(key, request, deps, () => submitTask(request, deps));
 */
export async function createOnce(
  key: string,
  request: CreateProgramTaskRequest,
  deps: IdempotencyDependencies,
  create: () => Promise<SubmittedTask>,
): Promise<IdempotentResult> {
  const now = deps.now ?? Date.now;
  const settings = deps.idempotencySettings;
  const recordKey = idempotencyRecordKey(key);
  const fingerprint = requestFingerprint(request);
  const started = now();
  let claim = await deps.idempotency.claim(recordKey, fingerprint, started, {
    staleAfterMs: settings.staleAfterMs,
    expiresAt: Math.floor(started / 1000) + settings.ttlSeconds,
  });
  while (claim.kind === 'in_progress') {
    if (claim.fingerprint !== fingerprint)
      throw new IdempotencyKeyReusedError('the Idempotency-Key was used with a different request');
    if (now() - started >= settings.waitMs) {
      throw new IdempotencyInProgressError('a request with this Idempotency-Key is still in progress; retry shortly');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const current = await deps.idempotency.get(recordKey);
    claim =
      current ??
      (await deps.idempotency.claim(recordKey, fingerprint, now(), {
        staleAfterMs: settings.staleAfterMs,
        expiresAt: Math.floor(now() / 1000) + settings.ttlSeconds,
      }));
  }
  if (claim.kind !== 'claimed' && claim.fingerprint !== fingerprint) {
    throw new IdempotencyKeyReusedError('the Idempotency-Key was used with a different request');
  }
  if (claim.kind === 'completed') return { task: claim.response, replayed: true };
  if (claim.kind === 'failed') throw new SettledFailureError(claim.failure, true);
  let task: SubmittedTask;
  try {
    task = await create();
  } catch (error) {
    const failure = deps.settledFailure?.(error);
    if (failure) {
      // The zone may hold a task: the key keeps this answer, so a retry cannot create a second one.
      await settle(() => deps.idempotency.fail(recordKey, failure), deps);
    } else {
      await deps.idempotency.release(recordKey);
    }
    throw error;
  }
  // The task is created and recorded: it is the answer, even if the key cannot keep it.
  await settle(() => deps.idempotency.complete(recordKey, task), deps);
  return { task, replayed: false };
}

/** A write to the key after the zone acted: tried three times, then logged (the answer stands). */
async function settle(write: () => Promise<void>, deps: IdempotencyDependencies): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await write();
      return;
    } catch (error) {
      if (attempt >= 3) {
        deps.logger?.error(
          'Idempotency-Key record not written; a retry with this key after 30 s may create another task',
          {
            error: errorKind(error),
          },
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

/** A replay of a first request that ended with a {@link SettledFailure}. */
export class SettledFailureError extends Error {
  override readonly name = 'SettledFailureError';
  constructor(
    readonly failure: SettledFailure,
    readonly replayed: boolean,
  ) {
    super(failure.reason);
  }
}
