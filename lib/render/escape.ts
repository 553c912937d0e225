/**
 * The zone's `escape_type` (spec section 4): applied to the whole substituted text, never to the
 * template. Affected: `"` `\` `/` and backspace, form feed, line feed, carriage return, tab.
 * Other C0 control characters would make the rendered JSON invalid; the document is silent, so
 * they become a space under 0 and `\u00XX` under 1 (our decision).
 */
import type { EscapeType } from '../protocol/zone.js';

// Fast path: most chat text has nothing to escape and is returned as it is.
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON escapes every C0 control character (RFC 8259 section 7); matching them is the point
const NEEDS_ESCAPE = /["\\/\u0000-\u001f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON escapes every C0 control character (RFC 8259 section 7); matching them is the point
const AFFECTED = /["\\/\u0000-\u001f]/g;

/**
 * Escape `text` as the zone does before substituting it into an input protocol.
 *
 * @example
 * escapeText('a"b\n', 0) // 'a b '
 * escapeText('a"b\n', 1) // 'a\\"b\\n'
 */
export function escapeText(text: string, escapeType: EscapeType): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  if (escapeType === 0) return text.replace(AFFECTED, ' ');
  // The runtime's JSON escaper writes exactly the listed escapes (\" \\ \b \f \n \r \t) and \u00XX for
  // the other C0 characters; only "/" is left to add. It also writes a lone surrogate as \uDXXX, which
  // keeps the rendered input valid JSON that parses back to the same text.
  return JSON.stringify(text).slice(1, -1).replaceAll('/', '\\/');
}
