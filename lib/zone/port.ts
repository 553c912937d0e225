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

/**
 * The call did not complete (SDK `Invoke` returned non-zero): network failure, bad HTTP status,
 * invalid JSON... `sdkCode` follows the vendor SDK's codes (spec section 5); `wecomErrcode` is WeCom's
 * own errcode when WeCom's API answered the failure (e.g. 710675 from `sync_call_program`).
 */
export class ZoneTransportError extends Error {
  override readonly name: string = 'ZoneTransportError';
  constructor(
    readonly sdkCode: number,
    message: string,
    readonly reach: ZoneCallReach = 'unknown',
    readonly wecomErrcode?: number,
  ) {
    super(message);
  }
}

/**
 * A zone call failed because our configuration is wrong (credentials, program, ability, protocol,
 * API permission, trusted IPs): retrying will not help until it is fixed, and the message says how.
 * The poller still keeps the task (a fixed configuration lets it finish); a create answers 503
 * `zone_misconfigured` with the message.
 */
export class ZoneConfigurationError extends ZoneTransportError {
  override readonly name: string = 'ZoneConfigurationError';
}

/** fetch wraps the socket error: `TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } })`. */
export function isConnectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return cause?.code === 'ECONNREFUSED';
}
