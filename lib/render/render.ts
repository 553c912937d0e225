/**
 * Rendering the chat into an ability's input protocol (spec section 4).
 */
import type { DebugInfo, EscapeType } from '../protocol/zone.js';
import { escapeText } from './escape.js';

/** One analysable message: voice and audio archive messages enter as their transcript. */
export interface ChatLine {
  sender: string;
  text: string;
}

/** The full-width colon (U+FF1A) the document uses between sender and text. */
export const SENDER_SEPARATOR = '说：';

/**
 * `{chat}`: one message per line as `<sender>说：<text>`.
 *
 * @example
 * renderChat([{ sender: 'A', text: '今天天气真不错！' }, { sender: 'B', text: '确实呀！' }])
 * // 'A说：今天天气真不错！\nB说：确实呀！'
 */
export function renderChat(lines: readonly ChatLine[]): string {
  return lines.map((line) => `${line.sender}${SENDER_SEPARATOR}${line.text}`).join('\n');
}

/** `{chatcontent}`: the texts alone, one per line. */
export function renderChatContent(lines: readonly ChatLine[]): string {
  return lines.map((line) => line.text).join('\n');
}

/** The raw (unescaped) values of the two placeholders. */
export interface PlaceholderValues {
  chat: string;
  chatcontent: string;
}

export function placeholderValues(lines: readonly ChatLine[]): PlaceholderValues {
  return { chat: renderChat(lines), chatcontent: renderChatContent(lines) };
}

/** In debug mode `debug_info` replaces the messages; without it both placeholders are empty. */
export function debugPlaceholderValues(debugInfo: DebugInfo | undefined): PlaceholderValues {
  return { chat: debugInfo?.chat ?? '', chatcontent: debugInfo?.chat_content ?? '' };
}

const PLACEHOLDER = /\{chat\}|\{chatcontent\}/g;

/**
 * Substitute every occurrence of `{chat}` and `{chatcontent}` in `template`, escaping the values
 * (not the template) as `escapeType` asks.
 *
 * @example
 * renderInput('{"msg":"{chat}"}', { chat: 'A说：hi\nB说：ok', chatcontent: '' }, 1)
 * // '{"msg":"A说：hi\\nB说：ok"}'
 */
export function renderInput(template: string, values: PlaceholderValues, escapeType: EscapeType): string {
  const escaped = {
    '{chat}': escapeText(values.chat, escapeType),
    '{chatcontent}': escapeText(values.chatcontent, escapeType),
  };
  // A replacer function, so `$&`-like sequences in chat text are never read as patterns.
  return template.replace(PLACEHOLDER, (placeholder) => escaped[placeholder as keyof typeof escaped]);
}
