/**
 * WeCom access tokens, cached per corp and secret (spec section 1: "cache per corp+secret, never
 * fetch per request").
 *
 * - A token is reused until `refreshEarlySeconds` before it expires (default 5 min), then refreshed.
 *   The margin is capped at half the token's lifetime, so a short-lived token (or one WeCom hands out
 *   again with little time left) is not refetched on every call.
 * - One refresh per key is in flight at a time: concurrent callers share its promise (no stampede).
 * - If an early refresh fails while the token in hand is still valid, that token is used.
 * - `invalidate(key, token)` drops a token WeCom refused (40014 / 42001 / 41001), but only if it is
 *   still the cached one: twenty calls refused with the same token cause one refresh, not twenty.
 */
import { createHash } from 'node:crypto';

export interface IssuedToken {
  token: string;
  expiresInSeconds: number;
}

export interface AccessTokenCacheOptions {
  /** Refresh this long before expiry (capped at half the token's lifetime). Default 300. */
  refreshEarlySeconds?: number;
  now?: () => number;
}

interface CachedToken {
  token: string;
  refreshAt: number;
  expiresAt: number;
}

interface Slot {
  current?: CachedToken;
  refreshing?: Promise<CachedToken>;
}

export const DEFAULT_REFRESH_EARLY_SECONDS = 300;

export class AccessTokenCache {
  readonly #slots = new Map<string, Slot>();
  readonly #refreshEarlyMs: number;
  readonly #now: () => number;

  constructor(options: AccessTokenCacheOptions = {}) {
    const early = options.refreshEarlySeconds ?? DEFAULT_REFRESH_EARLY_SECONDS;
    if (!Number.isFinite(early) || early < 0) throw new RangeError('refreshEarlySeconds must be a number >= 0');
    this.#refreshEarlyMs = early * 1000;
    this.#now = options.now ?? Date.now;
  }

  /** The cached token for `key`, or a fresh one from `fetchToken` (shared with concurrent callers). */
  async get(key: string, fetchToken: () => Promise<IssuedToken>): Promise<string> {
    const slot = this.#slot(key);
    const current = slot.current;
    if (current && this.#now() < current.refreshAt) return current.token;
    try {
      return (await this.#refresh(slot, fetchToken)).token;
    } catch (error) {
      // Refreshing early failed, but the token in hand is still valid (and was not refused): use it.
      if (current && slot.current === current && this.#now() < current.expiresAt) return current.token;
      throw error;
    }
  }

  /** Forget `token` if it is still the cached one. Returns whether it was. */
  invalidate(key: string, token: string): boolean {
    const slot = this.#slots.get(key);
    if (slot?.current?.token !== token) return false;
    slot.current = undefined;
    return true;
  }

  /**
   * Forget every token whose key starts with one of `prefixes` (a corp whose authorisation changed or
   * was cancelled): the next call fetches a fresh one. A refresh in flight is left to finish.
   */
  forgetKeys(prefixes: readonly string[]): number {
    let forgotten = 0;
    for (const [key, slot] of this.#slots) {
      if (slot.current && prefixes.some((prefix) => key.startsWith(prefix))) {
        slot.current = undefined;
        forgotten += 1;
      }
    }
    return forgotten;
  }

  /** Keys with a token or a refresh, for tests. */
  get size(): number {
    return this.#slots.size;
  }

  #slot(key: string): Slot {
    let slot = this.#slots.get(key);
    if (!slot) {
      this.#prune();
      slot = {};
      this.#slots.set(key, slot);
    }
    return slot;
  }

  #refresh(slot: Slot, fetchToken: () => Promise<IssuedToken>): Promise<CachedToken> {
    if (slot.refreshing) return slot.refreshing;
    const requestedAt = this.#now();
    const refreshing = fetchToken().then(
      (issued) => {
        // Counted from the request, not the answer: our expiry is never later than WeCom's.
        const lifetimeMs = issued.expiresInSeconds * 1000;
        const expiresAt = requestedAt + lifetimeMs;
        const cached = {
          token: issued.token,
          expiresAt,
          refreshAt: expiresAt - Math.min(this.#refreshEarlyMs, lifetimeMs / 2),
        };
        slot.current = cached;
        slot.refreshing = undefined;
        return cached;
      },
      (error: unknown) => {
        slot.refreshing = undefined;
        throw error;
      },
    );
    slot.refreshing = refreshing;
    return refreshing;
  }

  /** Drop slots whose token has expired and that are not refreshing (old secrets after a rotation). */
  #prune(): void {
    const now = this.#now();
    for (const [key, slot] of this.#slots) {
      if (!slot.refreshing && (!slot.current || slot.current.expiresAt <= now)) this.#slots.delete(key);
    }
  }
}

/** The cache key of a corp and secret: the secret only as a digest, so the key can be shown. */
export function tokenCacheKey(corpId: string, secret: string): string {
  return `${corpId}:${createHash('sha256').update(secret).digest('hex').slice(0, 32)}`;
}

/** A token as logs may show it: a short digest, never the token. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 8);
}
