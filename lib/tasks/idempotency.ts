/**
 * Idempotent creation: a client retry with the same `Idempotency-Key` gets the same jobid, and the
 * zone creates one task, also when the two requests race. Our own conditional write rather than
 * Powertools idempotency, because a racing duplicate should *wait* for the first request and answer
 * with its jobid (Powertools answers it at once with `IdempotencyAlreadyInProgressError`). Powertools
 * could hash a chosen part of the request too (`eventKeyJmesPath`, `payloadValidationJmesPath`); our
 * fingerprint leaves out secret keys and chat text. docs/decisions.md.
 */
import { createHash } from 'node:crypto';
import { errorKind, type Log } from '../log.js';
import type { CreateProgramTaskRequest } from '../protocol/zone.js';
import { IdempotencyInProgressError, IdempotencyKeyReusedError, SettledFailureError } from './errors.js';
import type { IdempotencyStore, SettledFailure } from './port.js';
import type { SubmittedTask } from './task.js';

export interface IdempotencySettings {
  /** How long a key is remembered. */
  ttlSeconds: number;
  /** How long a duplicate waits for the first request before answering 409. */
  waitMs: number;
  /** An IN_PROGRESS claim older than this belongs to a request that died. */
  staleAfterMs: number;
}

export const DEFAULT_IDEMPOTENCY: IdempotencySettings = { ttlSeconds: 86_400, waitMs: 10_000, staleAfterMs: 30_000 };

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
