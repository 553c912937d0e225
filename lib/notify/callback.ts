/**
 * Signed HTTPS callbacks. The body is the completion event; the signature is HMAC-SHA256 over
 * `<timestamp>.<body>` with the shared secret, so a receiver can check both origin and freshness:
 *   x-wecom-zone-timestamp: 1764115200
 *   x-wecom-zone-signature: sha256=<hex>
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CompletionEvent } from './completion.js';
import { CallbackDeliveryError } from './errors.js';

/** Whether `callback_url` is accepted, and over plain HTTP (local development only). */
export interface CallbackPolicy {
  enabled: boolean;
  allowHttp: boolean;
  /** The setting that turns callbacks on where this runs, named when one is refused. */
  setting: 'CALLBACK_SECRET_PARAM' | 'CALLBACK_SIGNING_SECRET';
}

/**
 * Why a request's `callback_url` cannot be used where this runs, as the 400 / rejection says it, or
 * undefined when it can: callbacks must be configured (the setting of the place this runs is named:
 * AWS, the SSM parameter; `npm start`, the local secret), and the URL https unless plain HTTP is allowed.
 *
 * @example
 * callbackUrlProblem('http://example.com/done', { enabled: true, allowHttp: false, setting: 'CALLBACK_SECRET_PARAM' })
 * // 'callback_url: must be an https URL'
 */
export function callbackUrlProblem(url: string, policy: CallbackPolicy | undefined): string | undefined {
  if (!policy?.enabled) {
    return `callback_url: callbacks are not configured here (set ${policy?.setting ?? 'CALLBACK_SECRET_PARAM'})`;
  }
  if (!policy.allowHttp && !url.startsWith('https:')) return 'callback_url: must be an https URL';
  return undefined;
}

export const TIMESTAMP_HEADER = 'x-wecom-zone-timestamp';
export const SIGNATURE_HEADER = 'x-wecom-zone-signature';

export function signCallback(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * For receivers (and tests): true when the signature matches and the timestamp is recent.
 *
 * @example
 * verifyCallback(secret, req.headers['x-wecom-zone-timestamp'], req.headers['x-wecom-zone-signature'], rawBody)
 */
export function verifyCallback(
  secret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  body: string,
  options: { now?: number; toleranceSeconds?: number } = {},
): boolean {
  if (!timestamp || !signature || !/^\d+$/.test(timestamp)) return false;
  const now = options.now ?? Date.now();
  if (Math.abs(now / 1000 - Number(timestamp)) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signCallback(secret, Number(timestamp), body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export interface CallbackSender {
  deliver(url: string, event: CompletionEvent): Promise<void>;
}

export interface HttpCallbackSenderOptions {
  /** Read on each delivery: the secret may come from a parameter store with its own cache. */
  secret: () => Promise<string>;
  timeoutMs?: number;
  now?: () => number;
}

export class HttpCallbackSender implements CallbackSender {
  constructor(readonly options: HttpCallbackSenderOptions) {}

  async deliver(url: string, event: CompletionEvent): Promise<void> {
    const body = JSON.stringify(event);
    const timestamp = Math.floor((this.options.now ?? Date.now)() / 1000);
    const signature = signCallback(await this.options.secret(), timestamp, body);
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signature,
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      });
    } catch (error) {
      throw new CallbackDeliveryError(`callback unreachable (${(error as Error).name})`);
    }
    await response.body?.cancel();
    if (response.status < 200 || response.status >= 300)
      throw new CallbackDeliveryError(`callback answered HTTP ${response.status}`);
  }
}
