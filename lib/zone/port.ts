import { ZoneTransportError } from './errors.js';
/**
 * The zone port, shaped like the vendor SDK call `Invoke(apiName, requestJson) → responseJson`.
 * The SDK's own wire format is not public, so transports are interchangeable: the in-process
 * emulator, an HTTP bridge, and later WeCom's public HTTPS API.
 */
export interface ZoneTransport {
  /**
   * Resolves with the response JSON; rejects with {@link ZoneTransportError} when the call itself fails.
   * `context.corpId`: the corp whose zone is called (a deployment serving several corps); transports
   * that serve one corp ignore it.
   */
  invoke(apiName: string, requestJson: string, context?: ZoneInvokeContext): Promise<string>;
}

/** Who a zone call is for. */
export interface ZoneInvokeContext {
  /** The task's corp (`corp_id` of the request, as recorded). */
  corpId?: string;
}

/**
 * Whether a failed call may have acted at the zone. `not_sent`: the call never reached the zone
 * interface (connection refused, credentials refused, a protocol check failed before the call), so a
 * create made nothing. `unknown`: it may have (a timeout or a broken answer after sending), so a
 * create may have left a task at the zone that nobody tracks.
 */
export type ZoneCallReach = 'not_sent' | 'unknown';

/** fetch wraps the socket error: `TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } })`. */
export function isConnectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return cause?.code === 'ECONNREFUSED';
}
