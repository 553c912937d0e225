/**
 * The zone port, shaped like the vendor SDK call `Invoke(apiName, requestJson) → responseJson`.
 * The SDK's own wire format is not public, so transports are interchangeable: the in-process
 * emulator, an HTTP bridge, and later WeCom's public HTTPS API.
 */
export interface ZoneTransport {
  /** Resolves with the response JSON; rejects with {@link ZoneTransportError} when the call itself fails. */
  invoke(apiName: string, requestJson: string): Promise<string>;
}

/**
 * The call did not complete (SDK `Invoke` returned non-zero): network failure, bad HTTP status,
 * invalid JSON... `sdkCode` follows the vendor SDK's codes (spec section 5).
 */
export class ZoneTransportError extends Error {
  override readonly name = 'ZoneTransportError';
  constructor(
    readonly sdkCode: number,
    message: string,
  ) {
    super(message);
  }
}
