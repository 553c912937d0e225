/** The errors of the notify folder: a completion callback that could not be delivered. */

export class CallbackDeliveryError extends Error {
  override readonly name = 'CallbackDeliveryError';
}
