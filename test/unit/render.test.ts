import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeText } from '../../lib/render/escape.js';
import { jsonProtocolMismatch, protocolMismatch } from '../../lib/render/protocolMatch.js';
import { placeholderValues, renderChat, renderChatContent, renderInput } from '../../lib/render/render.js';

const DOC_LINES = [
  { sender: 'A', text: '今天天气真不错！' },
  { sender: 'B', text: '确实呀！' },
];
const DOC_INPUT_PROTOCOL = '{"ability_id":"1", "task_type":"service_statistics", "msg": "{chat}"}';
const AFFECTED = ['"', '\\', '/', '\b', '\f', '\n', '\r', '\t'];

/** Text that leans on every character the escaping cares about, plus CJK and other controls. */
const chatText = fc.string({
  unit: fc.oneof(
    fc.constantFrom(...AFFECTED, '\u0000', '\u001f', '\u000b', '说', '：', '$&', '{chat}', '😀'),
    fc.string({ unit: 'grapheme', maxLength: 3 }),
  ),
  maxLength: 40,
});
const chatLines = fc.array(fc.record({ sender: chatText, text: chatText }), { maxLength: 8 });

describe('placeholders (golden, from the source document)', () => {
  it('{chat} joins "<sender>说：<text>" lines with \\n', () => {
    expect(renderChat(DOC_LINES)).toBe('A说：今天天气真不错！\nB说：确实呀！');
  });

  it('{chatcontent} holds the texts alone', () => {
    expect(renderChatContent(DOC_LINES)).toBe('今天天气真不错！\n确实呀！');
  });

  it('renders the document input protocol, escape_type 0: the line break becomes a space', () => {
    const input = renderInput(DOC_INPUT_PROTOCOL, placeholderValues(DOC_LINES), 0);
    expect(input).toBe(
      '{"ability_id":"1", "task_type":"service_statistics", "msg": "A说：今天天气真不错！ B说：确实呀！"}',
    );
  });

  it('renders the document input protocol, escape_type 1: the line break becomes \\n', () => {
    const input = renderInput(DOC_INPUT_PROTOCOL, placeholderValues(DOC_LINES), 1);
    expect(JSON.parse(input)).toEqual({
      ability_id: '1',
      task_type: 'service_statistics',
      msg: 'A说：今天天气真不错！\nB说：确实呀！',
    });
  });

  it('replaces every occurrence of both placeholders and leaves the template alone', () => {
    const template = '{"a":"{chat}","b":"{chat}","c":"{chatcontent}","d":"/\\\\ {chatcontent}"}';
    const input = renderInput(template, placeholderValues(DOC_LINES), 1);
    expect(JSON.parse(input)).toEqual({
      a: 'A说：今天天气真不错！\nB说：确实呀！',
      b: 'A说：今天天气真不错！\nB说：确实呀！',
      c: '今天天气真不错！\n确实呀！',
      d: '/\\ 今天天气真不错！\n确实呀！',
    });
  });

  it('never reads replacement patterns or placeholders inside chat text', () => {
    const input = renderInput('{"m":"{chat}"}', { chat: "$& $' {chatcontent}", chatcontent: 'X' }, 1);
    expect(JSON.parse(input)).toEqual({ m: "$& $' {chatcontent}" });
  });
});

describe('escapeText', () => {
  it('escape_type 0 turns each affected character into one space', () => {
    expect(escapeText('a"b\\c/d\be\ff\ng\rh\ti', 0)).toBe('a b c d e f g h i');
  });

  it('escape_type 1 turns each affected character into its JSON escape', () => {
    expect(escapeText('a"b\\c/d\be\ff\ng\rh\ti', 1)).toBe('a\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti');
  });

  it('other C0 controls become a space under 0 and \\u00XX under 1 (our decision)', () => {
    expect(escapeText('x\u0000y\u001fz', 0)).toBe('x y z');
    expect(escapeText('x\u0000y\u001fz', 1)).toBe('x\\u0000y\\u001fz');
  });

  it('property: under escape_type 1 the rendered JSON parses back to the exact original text', () => {
    fc.assert(
      fc.property(chatLines, (lines) => {
        const values = placeholderValues(lines);
        const input = renderInput('{"chat":"{chat}","content":"{chatcontent}"}', values, 1);
        expect(JSON.parse(input)).toEqual({ chat: values.chat, content: values.chatcontent });
      }),
      { numRuns: 500 },
    );
  });

  it('property: under escape_type 0 the rendered JSON parses and holds none of the affected characters', () => {
    fc.assert(
      fc.property(chatLines, (lines) => {
        const input = renderInput('{"chat":"{chat}","content":"{chatcontent}"}', placeholderValues(lines), 0);
        const parsed = JSON.parse(input) as { chat: string; content: string };
        for (const value of [parsed.chat, parsed.content]) {
          expect([...value].some((ch) => AFFECTED.includes(ch) || ch.charCodeAt(0) < 0x20)).toBe(false);
        }
        // Each affected character became exactly one space: lengths are kept.
        expect(parsed.chat.length).toBe(renderChat(lines).length);
      }),
      { numRuns: 500 },
    );
  });

  it('property: agrees with a character-by-character reading of the spec table', () => {
    const table: Record<string, string> = {
      '"': '\\"',
      '\\': '\\\\',
      '/': '\\/',
      '\b': '\\b',
      '\f': '\\f',
      '\n': '\\n',
      '\r': '\\r',
      '\t': '\\t',
    };
    const byTheTable = (text: string, escapeType: 0 | 1) =>
      [...text]
        .map((ch) => {
          const code = ch.charCodeAt(0);
          if (table[ch] === undefined && code >= 0x20) return ch;
          if (escapeType === 0) return ' ';
          return table[ch] ?? `\\u00${code.toString(16).padStart(2, '0')}`;
        })
        .join('');
    fc.assert(
      fc.property(chatText, fc.constantFrom(0 as const, 1 as const), (text, escapeType) => {
        expect(escapeText(text, escapeType)).toBe(byTheTable(text, escapeType));
      }),
      { numRuns: 1000 },
    );
  });

  it('a lone surrogate under escape_type 1 still renders valid JSON that parses back exactly', () => {
    const text = 'a\ud800b\udfffc';
    const input = renderInput('{"m":"{chat}"}', { chat: text, chatcontent: '' }, 1);
    expect(JSON.parse(input).m).toBe(text);
  });
});

describe('protocol match (subset check)', () => {
  const output = { avg_reply_time: 8, negative_feedback_cnt: 5 };

  it('accepts a document whose keys are in the example with the same JSON types', () => {
    expect(protocolMismatch({ avg_reply_time: 2, negative_feedback_cnt: 0 }, output)).toBeUndefined();
    expect(protocolMismatch({ avg_reply_time: 2 }, output)).toBeUndefined();
  });

  it('names an unknown key or a type that differs', () => {
    expect(protocolMismatch({ avg: 2 }, output)).toBe('$.avg is not in the protocol');
    expect(protocolMismatch({ avg_reply_time: '2' }, output)).toBe(
      '$.avg_reply_time is string, the protocol has number',
    );
    expect(protocolMismatch({ a: { b: 1 } }, { a: { b: 'x' } })).toBe('$.a.b is number, the protocol has string');
  });

  it('refuses text that is not JSON', () => {
    expect(jsonProtocolMismatch('{"avg_reply_time": ', output)).toBe('not valid JSON');
  });
});
