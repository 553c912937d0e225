/**
 * The HTTP bridge transport: `POST <baseUrl>/<api_name>` with the request JSON as the body; the
 * answer is the response JSON. The emulator serves this contract (`lib/zone/emulator/server.ts`),
 * and so can a thin bridge running inside the zone next to the vendor SDK.
 */

import { SDK_CODE } from '../protocol/errcodes.js';
import { ZoneTransportError } from './errors.js';
import { isConnectionRefused, type ZoneTransport } from './port.js';

export interface HttpZoneTransportOptions {
  baseUrl: string;
  /** Per call; the poller and API Gateway both have budgets to keep. */
  timeoutMs?: number;
  /**
   * Sent as `Authorization: Bearer <token>` when set: the token itself (`npm start`), or a reader
   * called before every call (on AWS, an SSM SecureString through Powertools' cache,
   * docs/configuration.md). A reader that fails makes the call a transport failure that sent nothing.
   */
  bearerToken?: string | (() => Promise<string>);
}

export class HttpZoneTransport implements ZoneTransport {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #bearerToken: HttpZoneTransportOptions['bearerToken'];

  constructor(options: HttpZoneTransportOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#bearerToken = options.bearerToken;
  }

  async #headers(apiName: string): Promise<Record<string, string>> {
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    let token: string | undefined;
    try {
      token = typeof this.#bearerToken === 'function' ? await this.#bearerToken() : this.#bearerToken;
    } catch (error) {
      // The error's kind only: never a message we did not write (it could name more than we want).
      const kind = error instanceof Error ? error.name : typeof error;
      throw new ZoneTransportError(
        SDK_CODE.internal,
        `${apiName}: the zone bridge token could not be read (${kind})`,
        'not_sent',
      );
    }
    if (token) headers.authorization = `Bearer ${token}`;
    return headers;
  }

  async invoke(apiName: string, requestJson: string): Promise<string> {
    const headers = await this.#headers(apiName);
    let response: Response;
    try {
      response = await fetch(`${this.#baseUrl}/${encodeURIComponent(apiName)}`, {
        method: 'POST',
        headers,
        body: requestJson,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      // Only the error's kind: a fetch error message can quote the URL, never the body, but stay terse.
      const kind = error instanceof Error ? error.name : 'Error';
      // A refused connection never reached the bridge; anything else may have (a create may exist).
      const refused = isConnectionRefused(error);
      throw new ZoneTransportError(
        SDK_CODE.networkFailure,
        `${apiName}: zone bridge unreachable (${refused ? 'connection refused' : kind})`,
        refused ? 'not_sent' : 'unknown',
      );
    }
    const text = await response.text();
    if (!response.ok) {
      throw new ZoneTransportError(SDK_CODE.badHttpStatus, `${apiName}: zone bridge answered HTTP ${response.status}`);
    }
    return text;
  }
}
