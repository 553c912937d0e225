/**
 * Shared test data: the source document's own example request, and helpers.
 */

export { DOC_EXAMPLE_REQUEST } from '../../lib/protocol/examples.js';

/** Strings that must never appear in a log line, stored record or queue message. */
export const SECRETS_AND_CHAT = ['SECRETKEY1', 'SECRETKEY2', 'SECRETKEY3', 'SECRETKEY4', '今天天气真不错', '确实呀', '发货太慢'];

export function message(index: number) {
  return { msgid: `MSGID${index}`, encrypt_info: { secret_key: `SECRETKEY${index}` } };
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A logger that keeps every line, for privacy scans. */
export function recordingLogger() {
  const lines: string[] = [];
  const record = (level: string) => (message: string, attributes?: unknown) => {
    lines.push(JSON.stringify({ level, message, ...(attributes instanceof Error ? { error: attributes.message } : (attributes as object)) }));
  };
  return { lines, debug: record('DEBUG'), info: record('INFO'), warn: record('WARN'), error: record('ERROR') };
}
