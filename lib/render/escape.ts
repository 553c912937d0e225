/**
 * The zone's `escape_type` (spec section 4): applied to the whole substituted text, never to the
 * template. Affected: `"` `\` `/` and backspace, form feed, line feed, carriage return, tab.
 * Other C0 control characters would make the rendered JSON invalid; the document is silent, so
 * they become a space under 0 and `\u00XX` under 1 (our decision).
 */
import type { EscapeType } from '../protocol/zone.js';

/** Escape sequence of each affected character under escape_type 1, by char code. */
const JSON_ESCAPES: Readonly<Record<number, string>> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x2f: '\\/',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
};

// Fast path: most chat text has nothing to escape and is returned as it is.
const NEEDS_ESCAPE = /["\\/\u0000-\u001f]/;

function needsEscape(code: number): boolean {
  return code < 0x20 || code === 0x22 || code === 0x5c || code === 0x2f;
}

function escapeSequence(code: number): string {
  return JSON_ESCAPES[code] ?? `\\u00${code.toString(16).padStart(2, '0')}`;
}

/**
 * Escape `text` as the zone does before substituting it into an input protocol.
 *
 * @example
 * escapeText('a"b\n', 0) // 'a b '
 * escapeText('a"b\n', 1) // 'a\\"b\\n'
 */
export function escapeText(text: string, escapeType: EscapeType): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  let out = '';
  let runStart = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!needsEscape(code)) continue;
    out += text.slice(runStart, i) + (escapeType === 0 ? ' ' : escapeSequence(code));
    runStart = i + 1;
  }
  return out + text.slice(runStart);
}
