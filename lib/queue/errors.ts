/**
 * The errors of the queue folder: what SQS answers when a call breaks one of its rules, raised the
 * same way by the embedded queue so local runs fail where AWS would.
 */

/**
 * Raised like SQS's InvalidParameterValue "Total VisibilityTimeout for the message is beyond the
 * limit [43200 seconds]": a received message may stay invisible at most 12 h from its receipt, in
 * total (AWS SQS API Reference, ChangeMessageVisibility). moto counts the 12 h from the send instead.
 */
export class VisibilityLimitError extends RangeError {
  override readonly name = 'VisibilityLimitError';
}

/** Raised like SQS's ReceiptHandleIsInvalid / MessageNotInflight. */
export class ReceiptHandleInvalidError extends Error {
  override readonly name = 'ReceiptHandleInvalidError';
}
