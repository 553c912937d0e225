/**
 * Calling WeCom's app-side HTTPS API as one corp's app: the access token, its cache and refresh, the
 * corp secret, and one POST with refresh-and-replay. Both WeCom transports use it: the relay
 * transport (`sync_call_program`, `relayTransport.ts`) and the async-program mapping
 * (`async_program_task`, `httpsTransport.ts`).
 *
 * Every call carries `?access_token=` from `GET /cgi-bin/gettoken?corpid=&corpsecret=` (WeCom doc
 * 91039), cached per corp and secret (`accessToken.ts`). A call refused for its token (40014 / 42001 /
 * 41001) refreshes the token once and is replayed once: WeCom refused it before acting, so the replay
 * cannot create a second task. Refused again, it fails as a transport error, which the poller retries
 * later; so do a failed gettoken, an unreadable secret, and 48002 / 60020 (API permission, trusted
 * IPs), which are about this app, not the task.
 *
 * Nothing here logs or puts in an error the corp secret, an access token (logs show a digest), or a
 * request or answer body; WeCom's own `errmsg` is handed back with any token or secret scrubbed.
 */

import type { Log } from '../../log.js';
import { SDK_CODE } from '../../protocol/errcodes.js';
import { ZoneConfigurationError, ZoneTransportError } from '../errors.js';
import { isConnectionRefused } from '../port.js';
import { AccessTokenCache, type IssuedToken, tokenCacheKey, tokenFingerprint } from './accessToken.js';
import {
  CALLER_REFUSED_ERRCODES,
  DEFAULT_WECOM_API_BASE_URL,
  GettokenAnswerSchema,
  SDK_CODE_CREDENTIALS,
  TOKEN_REFUSED_ERRCODES,
  WECOM_ERRCODE,
  WECOM_PATH,
} from './protocol.js';
import { type SecretSource, SecretUnavailableError } from './secrets.js';

/**
 * Where an access token comes from when it is not `gettoken` with the corp secret: a third-party
 * app's corp token (`get_corp_token`, lib/corps/tokens.ts). Single-flight and cached by the source.
 */
export interface AccessTokenSource {
  /** The token to call with, and the key to invalidate it by. */
  token(apiName: string): Promise<{ key: string; token: string }>;
  /** WeCom refused `token` (40014 / 42001 / 41001): drop it if it is still the cached one. */
  invalidate(key: string, token: string): void;
}

export interface WecomApiClientOptions {
  corpId: string;
  /** The app secret for `gettoken`; unused when `tokenSource` is given. */
  corpSecret?: SecretSource;
  /** Tokens from elsewhere than `gettoken` (a third-party app's get_corp_token). */
  tokenSource?: AccessTokenSource;
  /**
   * Called before every `gettoken` request: counts it against the corp's call budget (it may throw a
   * {@link ZoneTransportError} to refuse it).
   */
  beforeTokenRequest?: (apiName: string) => Promise<void>;
  /** Default https://qyapi.weixin.qq.com; tests point it at a fake. */
  baseUrl?: string;
  /** Per HTTP request, in milliseconds. Default 10000. */
  timeoutMs?: number;
  /** Share one cache between clients of several corps; default: a cache of its own. */
  tokenCache?: AccessTokenCache;
  /** For the default cache: refresh this long before expiry, in seconds. Default 300. */
  refreshEarlySeconds?: number;
  logger?: Log;
}

/**
 * WeCom refused who we are: gettoken refused the corp or secret, a fresh token was refused, or the app
 * lacks the API permission or calls from an untrusted IP. Nothing reached the zone.
 */
export class WecomCredentialsError extends ZoneConfigurationError {
  override readonly name: string = 'WecomCredentialsError';
  constructor(
    readonly errcode: number,
    message: string,
  ) {
    super(SDK_CODE_CREDENTIALS, message, 'not_sent', errcode);
  }
}

/** What gettoken's refusals mean (WeCom's global error codes), for a message that names the fix. */
const GETTOKEN_REFUSALS: Readonly<Record<number, string>> = {
  40001: 'the corp secret is wrong (check the secret WECOM_CORP_SECRET_* points at)',
  40013: 'the corp id is wrong (WECOM_CORP_ID)',
  41002: 'the corp id is missing (WECOM_CORP_ID)',
  41004: 'the corp secret is empty (check the secret WECOM_CORP_SECRET_* points at)',
  40056: 'the app is not valid for this corp',
};
/** gettoken answers that mean WeCom is busy, not that our credentials are wrong. */
const GETTOKEN_BUSY: ReadonlySet<number> = new Set([-1, 45009, 45033]);

export interface WecomApiStats {
  /** gettoken requests sent. */
  tokenRequests: number;
  /** Calls refused for their token and replayed with a fresh one. */
  tokenRefusals: number;
}

/** A JSON answer of WeCom's API, `errmsg` already scrubbed of secrets and tokens. */
export type WecomAnswer = Record<string, unknown>;

const silent: Log = { debug() {}, info() {}, warn() {}, error() {} };

export class WecomApiClient {
  readonly stats: WecomApiStats = { tokenRequests: 0, tokenRefusals: 0 };
  readonly corpId: string;
  readonly #options: WecomApiClientOptions;
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #tokens: AccessTokenCache;
  readonly #logger: Log;
  /** Values to scrub from anything WeCom says back: the secrets and tokens seen lately. */
  readonly #sensitive = new RecentValues(16);

  constructor(options: WecomApiClientOptions) {
    if (!options.corpId) throw new TypeError('corpId is required');
    if (!options.corpSecret && !options.tokenSource) throw new TypeError('corpSecret or tokenSource is required');
    this.corpId = options.corpId;
    this.#options = options;
    this.#baseUrl = (options.baseUrl ?? DEFAULT_WECOM_API_BASE_URL).replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#tokens = options.tokenCache ?? new AccessTokenCache({ refreshEarlySeconds: options.refreshEarlySeconds });
    this.#logger = options.logger ?? silent;
  }

  /**
   * `POST <path>?access_token=…` with a JSON body; the answer as a JSON object.
   *
   * @param apiName the zone interface this call serves, for errors and logs
   * @throws {WecomCredentialsError} the token was refused twice, gettoken failed, or 48002 / 60020
   * @throws {ZoneTransportError} WeCom unreachable, timed out, a non-200 status or a non-JSON answer
   */
  async post(apiName: string, path: string, body: string): Promise<WecomAnswer> {
    let { key, token } = await this.#token(apiName);
    for (let replayed = false; ; replayed = true) {
      const answer = await this.#request(apiName, path, `${path}?access_token=${encodeURIComponent(token)}`, body);
      const errcode = answer.errcode;
      if (typeof answer.errmsg === 'string') answer.errmsg = this.scrub(answer.errmsg);
      if (typeof errcode === 'number' && CALLER_REFUSED_ERRCODES.has(errcode)) {
        this.#logger.error('WeCom refused the caller: check the API permission and trusted IPs', {
          api: apiName,
          errcode,
        });
        const fix =
          errcode === 60020
            ? "add the functions' egress IP to the app's trusted IPs"
            : 'give the app the 数据与智能专区 permission';
        throw new WecomCredentialsError(errcode, `${apiName}: WeCom refused the caller (errcode ${errcode}): ${fix}`);
      }
      if (typeof errcode !== 'number' || !TOKEN_REFUSED_ERRCODES.has(errcode)) return answer;
      if (this.#options.tokenSource) this.#options.tokenSource.invalidate(key, token);
      else this.#tokens.invalidate(key, token);
      if (replayed) {
        this.#logger.error('WeCom refused a fresh access token', {
          api: apiName,
          errcode,
          token: tokenFingerprint(token),
        });
        throw new WecomCredentialsError(errcode, `${apiName}: WeCom refused a fresh access token (errcode ${errcode})`);
      }
      this.stats.tokenRefusals += 1;
      this.#logger.warn('WeCom refused the access token; refreshing it once', {
        api: apiName,
        errcode,
        token: tokenFingerprint(token),
      });
      ({ key, token } = await this.#token(apiName));
    }
  }

  /** WeCom's errmsg is shown to clients and stored: never with a token or the secret in it. */
  scrub(text: string): string {
    let scrubbed = text;
    for (const value of this.#sensitive.values())
      if (scrubbed.includes(value)) scrubbed = scrubbed.split(value).join('***');
    return scrubbed;
  }

  /** The cached token for the current secret; a secret WeCom refuses (40001) is re-read once. */
  async #token(apiName: string): Promise<{ key: string; token: string }> {
    if (this.#options.tokenSource) {
      const issued = await this.#options.tokenSource.token(apiName);
      this.#sensitive.add(issued.token);
      return issued;
    }
    let secret = await this.#secret(apiName, false);
    for (let reread = false; ; reread = true) {
      const key = tokenCacheKey(this.corpId, secret);
      const current = secret;
      try {
        const token = await this.#tokens.get(key, () => this.#gettoken(apiName, current));
        this.#sensitive.add(token);
        return { key, token };
      } catch (error) {
        if (reread || !(error instanceof WecomCredentialsError) || error.errcode !== WECOM_ERRCODE.invalidSecret)
          throw error;
        // Perhaps rotated since we read it: read it again, past the cache, and retry if it changed.
        secret = await this.#secret(apiName, true);
        if (secret === current) throw error;
        this.#logger.warn('WeCom refused the corp secret; using the value read again', {
          api: apiName,
          secret: this.#options.corpSecret?.location,
        });
      }
    }
  }

  async #secret(apiName: string, forceFetch: boolean): Promise<string> {
    const source = this.#options.corpSecret;
    if (!source) throw new TypeError('corpSecret is required');
    try {
      const secret = await source.get({ forceFetch });
      this.#sensitive.add(secret);
      return secret;
    } catch (error) {
      const message =
        error instanceof SecretUnavailableError
          ? error.message
          : `the corp secret could not be read from ${source.location}`;
      this.#logger.error('corp secret unavailable', {
        api: apiName,
        secret: source.location,
        problem: message,
      });
      throw new ZoneConfigurationError(SDK_CODE.internal, `${apiName}: ${message}`, 'not_sent');
    }
  }

  async #gettoken(apiName: string, secret: string): Promise<IssuedToken> {
    await this.#options.beforeTokenRequest?.(apiName);
    this.stats.tokenRequests += 1;
    const query = new URLSearchParams({ corpid: this.corpId, corpsecret: secret });
    const parsed = GettokenAnswerSchema.safeParse(
      await this.#request(apiName, 'gettoken', `${WECOM_PATH.gettoken}?${query}`),
    );
    if (!parsed.success)
      throw new ZoneTransportError(
        SDK_CODE.invalidJson,
        "gettoken: WeCom's answer does not follow the protocol",
        'not_sent',
      );
    const answer = parsed.data;
    if (answer.errcode !== 0 || !answer.access_token || !answer.expires_in || answer.expires_in <= 0) {
      const errcode = answer.errcode !== 0 ? answer.errcode : -1;
      this.#logger.error('gettoken failed', { api: apiName, errcode });
      if (GETTOKEN_BUSY.has(errcode)) {
        throw new ZoneTransportError(
          SDK_CODE.networkFailure,
          `${apiName}: WeCom gettoken is busy (errcode ${errcode})`,
          'not_sent',
          errcode,
        );
      }
      const meaning = GETTOKEN_REFUSALS[errcode] ?? 'WeCom refused the app credentials';
      throw new WecomCredentialsError(errcode, `${apiName}: WeCom gettoken failed (errcode ${errcode}): ${meaning}`);
    }
    this.#logger.info('access token fetched', {
      api: apiName,
      token: tokenFingerprint(answer.access_token),
      expiresIn: answer.expires_in,
    });
    return { token: answer.access_token, expiresInSeconds: answer.expires_in };
  }

  /** One HTTP request to WeCom's API ({@link requestWecom}). */
  #request(apiName: string, what: string, pathAndQuery: string, body?: string): Promise<WecomAnswer> {
    return requestWecom({ baseUrl: this.#baseUrl, timeoutMs: this.#timeoutMs }, apiName, what, pathAndQuery, body);
  }
}

/**
 * One HTTP request to WeCom's API; the answer as a JSON object. Errors say what failed, never the URL
 * (it may carry a token). Whether the request reached WeCom is told apart where it can be: a refused
 * connection was never sent; a token request (`what` ending in `token`) never acts at the zone.
 *
 * @throws {ZoneTransportError} unreachable, timed out, a non-200 status, not a JSON object
 */
export async function requestWecom(
  target: { baseUrl: string; timeoutMs: number },
  apiName: string,
  what: string,
  pathAndQuery: string,
  body?: string,
): Promise<WecomAnswer> {
  const reached = what === 'gettoken' || what.endsWith('token') || what.endsWith('code') ? 'not_sent' : 'unknown';
  let response: Response;
  try {
    response = await fetch(`${target.baseUrl}${pathAndQuery}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' },
      body,
      signal: AbortSignal.timeout(target.timeoutMs),
    });
  } catch (error) {
    const kind = error instanceof Error ? error.name : 'Error';
    const refused = isConnectionRefused(error);
    throw new ZoneTransportError(
      SDK_CODE.networkFailure,
      `${apiName}: WeCom API unreachable for ${what} (${refused ? 'connection refused' : kind})`,
      refused ? 'not_sent' : reached,
    );
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    const kind = error instanceof Error ? error.name : 'Error';
    throw new ZoneTransportError(
      SDK_CODE.networkFailure,
      `${apiName}: WeCom API answer to ${what} cut off (${kind})`,
      reached,
    );
  }
  if (!response.ok) {
    throw new ZoneTransportError(
      SDK_CODE.badHttpStatus,
      `${apiName}: WeCom API answered ${what} with HTTP ${response.status}`,
      reached,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ZoneTransportError(
      SDK_CODE.invalidJson,
      `${apiName}: WeCom API answered ${what} with invalid JSON`,
      reached,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ZoneTransportError(
      SDK_CODE.invalidJson,
      `${apiName}: WeCom API answered ${what} with something other than a JSON object`,
      reached,
    );
  }
  return parsed as WecomAnswer;
}

/** The last `max` distinct values added, the most recently added last. */
class RecentValues {
  readonly #values = new Set<string>();
  constructor(readonly max: number) {}

  add(value: string): void {
    if (!value) return;
    this.#values.delete(value);
    this.#values.add(value);
    if (this.#values.size > this.max) {
      const oldest = this.#values.values().next().value;
      if (oldest !== undefined) this.#values.delete(oldest);
    }
  }

  values(): IterableIterator<string> {
    return this.#values.values();
  }
}
