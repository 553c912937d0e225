/**
 * Secrets as read from a file, a parameter store or the environment: `echo secret > f` and editors
 * end a file with a line break, and `aws ssm put-parameter --value file://f` stores it too, after
 * which WeCom answers 40001 (invalid secret) forever. Every secret reader passes its value through
 * here: trailing CR/LF is not part of a secret; any other leading or trailing whitespace is refused
 * with an error that names where the secret came from (never the value).
 */

/** A secret that ends (or starts) in whitespace other than a final line break. */
export class SecretWhitespaceError extends Error {
  override readonly name = 'SecretWhitespaceError';
}

/**
 * @param location where the value came from, for the error (`ssm:/name`, `CALLBACK_SIGNING_SECRET`)
 * @throws {SecretWhitespaceError} when the value starts or ends in whitespace once trailing CR/LF is removed
 * @example secretText('file:corpsecret.txt', 'abc\n') // 'abc'
 */
export function secretText(location: string, value: string): string {
  const text = value.replace(/[\r\n]+$/, '');
  if (text !== text.trim()) {
    throw new SecretWhitespaceError(
      `${location}: the secret starts or ends in whitespace; remove it (a secret never holds spaces at its ends)`,
    );
  }
  return text;
}
