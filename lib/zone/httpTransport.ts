/**
 * The HTTP bridge transport: `POST <baseUrl>/<api_name>` with the request JSON as the body; the
 * answer is the response JSON. The emulator serves this contract (`lib/zone/emulator/server.ts`),
 * and so can a thin bridge running inside the zone next to the vendor SDK.
 */
import { SDK_CODE } from '../protocol/errcodes.js';
import { isConnectionRefused, type ZoneTransport, ZoneTransportError } from './port.js';

export interface HttpZoneTransportOptions {
  baseUrl: string;
  /** Per call; the poller and API Gateway both have budgets to keep. */
  timeoutMs?: number;
  /** Sent as `Authorization: Bearer <token>` when set. */
  bearerToken?: string;
}

export class HttpZoneTransport implements ZoneTransport {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #headers: Record<string, string>;

  constructor(options: HttpZoneTransportOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#headers = { 'content-type': 'application/json; charset=utf-8' };
    if (options.bearerToken) this.#headers.authorization = `Bearer ${options.bearerToken}`;
  }

  async invoke(apiName: string, requestJson: string): Promise<string> {
    let response: Response;
    try {
      response = await fetch(`${this.#baseUrl}/${encodeURIComponent(apiName)}`, {
        method: 'POST',
        headers: this.#headers,
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
