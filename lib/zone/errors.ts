/**
 * The errors of the zone folder: a zone call that did not complete, and one that cannot complete
 * until our configuration is fixed. Messages are ours (what failed, what to fix), never the zone's text.
 */
import type { ZoneCallReach } from './port.js';

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
