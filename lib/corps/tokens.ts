/**
 * Tokens of a provider's suites and of the corps that installed a third-party app:
 *
 * - `suite_access_token`: `POST /cgi-bin/service/get_suite_token` {suite_id, suite_secret,
 *   suite_ticket} (docs 14939, 42541), with the latest ticket WeCom pushed (doc 14947).
 * - a third-party corp's access token: `POST /cgi-bin/service/get_corp_token?suite_access_token=`
 *   {auth_corpid, permanent_code} (doc 14944).
 * - `get_permanent_code` (v2, docs 57310 / 42542): an auth code of create_auth / reset_permanent_code
 *   exchanged for the corp's permanent code.
 *
 * Quirk (docs 14939, 14944): these answer `errcode` only on failure; an answer without one is a success.
 *
 * Tokens are cached in the shared {@link AccessTokenCache} (refreshed early, one refresh per key in
 * flight), so a burst of tasks of many corps makes one get_suite_token per suite and one
 * get_corp_token per corp, not one per task. A suite token refused (40082 / 42009 / 40014 / 42001 /
 * 41001) is dropped and the call replayed once. Every token request first takes a call from the
 * budget: the corp's for get_corp_token, the suite's own (`suite.<suite_id>`) for get_suite_token.
 * Nothing here logs or throws a secret, ticket, permanent code or token (logs show a digest).
 */
import * as z from 'zod';
import type { CallBudget } from '../budget/port.js';
import type { Log } from '../log.js';
import { SDK_CODE } from '../protocol/errcodes.js';
import { ZoneConfigurationError, ZoneTransportError } from '../zone/errors.js';
import { type AccessTokenCache, type IssuedToken, tokenCacheKey, tokenFingerprint } from '../zone/wecom/accessToken.js';
import { type AccessTokenSource, requestWecom, type WecomAnswer } from '../zone/wecom/apiClient.js';
import { SDK_CODE_CREDENTIALS } from '../zone/wecom/protocol.js';
import { type CorpCredentialStore, CredentialStoreError, suiteBudgetKey } from './port.js';

export const SUITE_PATH = {
  getSuiteToken: '/cgi-bin/service/get_suite_token',
  getCorpToken: '/cgi-bin/service/get_corp_token',
  getPermanentCode: '/cgi-bin/service/v2/get_permanent_code',
} as const;

/** Answers meaning "this suite_access_token is no good" (doc 10649): drop it, replay once. */
export const SUITE_TOKEN_REFUSED: ReadonlySet<number> = new Set([40082, 42009, 40014, 42001, 41001]);
/** WeCom is busy or limits the caller: not a credential problem. */
const BUSY: ReadonlySet<number> = new Set([-1, 45009, 45033]);

/** What the errcodes of these interfaces mean (doc 10649), for messages that name the fix. */
const MEANING: Readonly<Record<number, string>> = {
  40080: 'the suite secret is wrong',
  40083: 'the suite id is wrong',
  40085: 'the suite_ticket is not valid (WeCom pushes one every 10 minutes to the callback URL)',
  40084: 'the permanent code is not valid (the corp may have cancelled its authorisation)',
  40078: 'the auth code is not valid (it is used once and lives 10 minutes)',
  40013: 'the corp id is wrong',
};

const TokenAnswerSchema = z.object({
  errcode: z.int().default(0),
  expires_in: z.number().optional(),
});
const SuiteTokenAnswerSchema = TokenAnswerSchema.extend({ suite_access_token: z.string().optional() });
const CorpTokenAnswerSchema = TokenAnswerSchema.extend({ access_token: z.string().optional() });
export const PermanentCodeAnswerSchema = z.object({
  errcode: z.int().default(0),
  permanent_code: z.string().optional(),
  auth_corp_info: z.object({ corpid: z.string() }).optional(),
});

/** A token request was refused by this deployment's call budget: nothing was sent. */
export class TokenBudgetSpentError extends ZoneTransportError {
  override readonly name: string = 'TokenBudgetSpentError';
  constructor(what: string, key: string) {
    super(
      SDK_CODE.networkFailure,
      `${what}: the call budget of ${key} is spent (BUDGET_PER_MINUTE / BUDGET_PER_HOUR); no token requested`,
      'not_sent',
    );
  }
}

export interface SuiteTokensOptions {
  store: CorpCredentialStore;
  cache: AccessTokenCache;
  baseUrl: string;
  timeoutMs: number;
  budget?: CallBudget;
  logger: Log;
  now?: () => number;
}

export interface SuiteStats {
  suiteTokenRequests: number;
  corpTokenRequests: number;
  permanentCodeRequests: number;
}

/** The suite-side calls of one deployment: every suite, every third-party corp. */
export class SuiteTokens {
  readonly stats: SuiteStats = { suiteTokenRequests: 0, corpTokenRequests: 0, permanentCodeRequests: 0 };
  readonly #options: SuiteTokensOptions;
  readonly #now: () => number;

  constructor(options: SuiteTokensOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Take a call from `key`'s budget, or refuse the request. */
  async takeCall(what: string, key: string): Promise<void> {
    const budget = this.#options.budget;
    if (!budget) return;
    const decision = await budget.tryAcquire(key, this.#now());
    if (!decision.granted) throw new TokenBudgetSpentError(what, key);
  }

  /** The suite's cached token (fetched with its latest ticket when missing or due). */
  async suiteToken(suiteId: string, apiName: string): Promise<{ key: string; token: string }> {
    const { suite_secret: secret } = await this.#suite(suiteId, apiName);
    // Keyed by the secret (as a digest): a token stays good for its 2 hours whatever tickets arrive
    // meanwhile; each refresh reads the latest ticket (doc 14939: "always use the latest").
    const key = suiteTokenKey(suiteId, secret);
    const token = await this.#options.cache.get(key, async () => {
      const ticket = await this.#read(apiName, `the suite_ticket of ${suiteId}`, () =>
        this.#options.store.getTicket(suiteId, { forceFetch: true }),
      );
      if (!ticket) {
        throw new ZoneConfigurationError(
          SDK_CODE.internal,
          `${apiName}: no suite_ticket for suite ${suiteId} yet: WeCom pushes one every 10 minutes to the callback URL (docs/many-corps.md)`,
          'not_sent',
        );
      }
      return this.#getSuiteToken(apiName, suiteId, secret, ticket.ticket);
    });
    return { key, token };
  }

  /** Forget the tokens of a corp (its authorisation changed or was cancelled). */
  forgetCorp(corpId: string): void {
    this.#options.cache.forgetKeys([`${corpId}:`, `corp:${corpId}:`]);
  }

  invalidate(key: string, token: string): void {
    this.#options.cache.invalidate(key, token);
  }

  /**
   * A third-party corp's access-token source: `get_corp_token` with its permanent code, read from the
   * store on each refresh (a reset code is picked up).
   */
  corpTokenSource(corpId: string, suiteId: string): AccessTokenSource {
    return {
      token: async (apiName) => {
        const entry = await this.#read(apiName, `the entry of corp ${corpId}`, () =>
          this.#options.store.getCorp(corpId),
        );
        if (entry?.status !== 'active' || entry.kind !== 'third_party') {
          throw new ZoneConfigurationError(
            SDK_CODE.internal,
            `${apiName}: corp ${corpId} has no permanent code (not authorised, or cancelled)`,
            'not_sent',
          );
        }
        const permanentCode = entry.permanent_code;
        const key = tokenCacheKey(`corp:${corpId}`, permanentCode);
        const token = await this.#options.cache.get(key, () =>
          this.#getCorpToken(apiName, suiteId, corpId, permanentCode),
        );
        return { key, token };
      },
      invalidate: (key, token) => this.#options.cache.invalidate(key, token),
    };
  }

  /**
   * Exchange an auth code (create_auth, reset_permanent_code) for the corp's permanent code (doc 57310;
   * for a 代开发 template it is the corp's secret, doc 42542).
   */
  async permanentCode(suiteId: string, authCode: string): Promise<{ corpId: string; permanentCode: string }> {
    const apiName = 'get_permanent_code';
    await this.takeCall(apiName, suiteBudgetKey(suiteId));
    const answer = await this.#withSuiteToken(suiteId, apiName, (suiteToken) => {
      this.stats.permanentCodeRequests += 1;
      return requestWecom(
        this.#target(),
        apiName,
        'get_permanent_code',
        `${SUITE_PATH.getPermanentCode}?suite_access_token=${encodeURIComponent(suiteToken)}`,
        JSON.stringify({ auth_code: authCode }),
      );
    });
    const parsed = PermanentCodeAnswerSchema.safeParse(answer);
    if (!parsed.success || parsed.data.errcode !== 0 || !parsed.data.permanent_code || !parsed.data.auth_corp_info) {
      const errcode = parsed.success ? parsed.data.errcode : -1;
      throw this.#failure(apiName, errcode === 0 ? -1 : errcode);
    }
    return { corpId: parsed.data.auth_corp_info.corpid, permanentCode: parsed.data.permanent_code };
  }

  async #getCorpToken(apiName: string, suiteId: string, corpId: string, permanentCode: string): Promise<IssuedToken> {
    await this.takeCall(`${apiName}: get_corp_token`, corpId);
    const answer = await this.#withSuiteToken(suiteId, apiName, (suiteToken) => {
      this.stats.corpTokenRequests += 1;
      return requestWecom(
        this.#target(),
        apiName,
        'get_corp_token',
        `${SUITE_PATH.getCorpToken}?suite_access_token=${encodeURIComponent(suiteToken)}`,
        JSON.stringify({ auth_corpid: corpId, permanent_code: permanentCode }),
      );
    });
    const parsed = CorpTokenAnswerSchema.safeParse(answer);
    const data = parsed.success ? parsed.data : undefined;
    if (data?.errcode !== 0 || !data.access_token || !data.expires_in || data.expires_in <= 0)
      throw this.#failure(`${apiName}: get_corp_token for corp ${corpId}`, data?.errcode || -1);
    this.#options.logger.info('corp token fetched', {
      api: apiName,
      corpId,
      token: tokenFingerprint(data.access_token),
      expiresIn: data.expires_in,
    });
    return { token: data.access_token, expiresInSeconds: data.expires_in };
  }

  async #getSuiteToken(apiName: string, suiteId: string, secret: string, ticket: string): Promise<IssuedToken> {
    await this.takeCall(`${apiName}: get_suite_token`, suiteBudgetKey(suiteId));
    this.stats.suiteTokenRequests += 1;
    const answer = await requestWecom(
      this.#target(),
      apiName,
      'get_suite_token',
      SUITE_PATH.getSuiteToken,
      JSON.stringify({ suite_id: suiteId, suite_secret: secret, suite_ticket: ticket }),
    );
    const parsed = SuiteTokenAnswerSchema.safeParse(answer);
    const data = parsed.success ? parsed.data : undefined;
    if (data?.errcode !== 0 || !data.suite_access_token || !data.expires_in || data.expires_in <= 0)
      throw this.#failure(`${apiName}: get_suite_token for suite ${suiteId}`, data?.errcode || -1);
    this.#options.logger.info('suite token fetched', {
      api: apiName,
      suiteId,
      token: tokenFingerprint(data.suite_access_token),
      expiresIn: data.expires_in,
    });
    return { token: data.suite_access_token, expiresInSeconds: data.expires_in };
  }

  /** A call with the suite token; a refused token is dropped and the call replayed once. */
  async #withSuiteToken(
    suiteId: string,
    apiName: string,
    call: (suiteToken: string) => Promise<WecomAnswer>,
  ): Promise<WecomAnswer> {
    for (let replayed = false; ; replayed = true) {
      const { key, token } = await this.suiteToken(suiteId, apiName);
      const answer = await call(token);
      const errcode = answer.errcode;
      if (typeof errcode !== 'number' || !SUITE_TOKEN_REFUSED.has(errcode) || replayed) return answer;
      this.#options.logger.warn('WeCom refused the suite token; refreshing it once', {
        api: apiName,
        suiteId,
        errcode,
        token: tokenFingerprint(token),
      });
      this.invalidate(key, token);
    }
  }

  async #suite(suiteId: string, apiName: string) {
    const suite = await this.#read(apiName, `suite ${suiteId}`, () => this.#options.store.getSuite(suiteId));
    if (!suite) {
      throw new ZoneConfigurationError(
        SDK_CODE.internal,
        `${apiName}: suite ${suiteId} has no credentials in ${this.#options.store.location}`,
        'not_sent',
      );
    }
    return suite;
  }

  async #read<T>(apiName: string, what: string, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      const problem = error instanceof CredentialStoreError ? error.message : `${what} could not be read`;
      throw new ZoneConfigurationError(SDK_CODE.internal, `${apiName}: ${problem}`, 'not_sent');
    }
  }

  #failure(what: string, errcode: number): ZoneTransportError {
    this.#options.logger.error('suite call failed', { what, errcode });
    if (BUSY.has(errcode))
      return new ZoneTransportError(
        SDK_CODE.networkFailure,
        `${what}: WeCom is busy (errcode ${errcode})`,
        'not_sent',
        errcode,
      );
    const meaning = MEANING[errcode] ?? 'WeCom refused the suite credentials';
    return new ZoneConfigurationError(
      SDK_CODE_CREDENTIALS,
      `${what}: failed (errcode ${errcode}): ${meaning}`,
      'not_sent',
      errcode,
    );
  }

  #target() {
    return { baseUrl: this.#options.baseUrl.replace(/\/+$/, ''), timeoutMs: this.#options.timeoutMs };
  }
}

/** The cache key of a suite's token. */
export function suiteTokenKey(suiteId: string, secret: string): string {
  return tokenCacheKey(`suite:${suiteId}`, secret);
}
