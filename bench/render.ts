/**
 * Row 4: rendering + escaping throughput. 1000 messages of mixed chat text (CJK, quotes,
 * backslashes, slashes, newlines, tabs, emoji) rendered into the `echo` ability's input protocol,
 * which uses both placeholders, under escape_type 0 and 1.
 *
 * Baseline: `JSON.stringify` of the same placeholder values, i.e. V8's native escaper producing
 * the same JSON document `{"chat":"…","chatcontent":"…"}` from the same lines. Both sides join the
 * lines the same way (`placeholderValues`), so the ratio is the cost of our escaping and
 * substitution against the fastest escaping the runtime offers.
 */
import { escapeText } from '../lib/render/escape.js';
import { type ChatLine, placeholderValues, renderInput } from '../lib/render/render.js';
import { type BenchRow, formatMs, seededRandom, sink, summarize, timeInterleaved } from './stats.js';

const ECHO_INPUT_PROTOCOL = '{"chat":"{chat}","chatcontent":"{chatcontent}"}';
const MESSAGE_COUNT = 1000;

/** Pieces of real-looking chat: plain CJK, and text with every character class the escaper handles. */
const FRAGMENTS: readonly string[] = [
  '今天天气真不错！',
  '确实呀！',
  '发货太慢了，我要投诉',
  '抱歉，我们马上处理',
  '好的，谢谢',
  'He said "ok" twice',
  '路径是 C:\\Users\\客服\\报表.xlsx',
  '第一行\n第二行',
  '链接 https://example.com/订单/12345',
  '价格\t99 元',
  '😀👍 收到',
  'order #A-1024 shipped',
  '「引号」和"双引号"',
  '请回复 \\n 不是换行',
];

/** Deterministic mixed chat: the same 1000 lines in every run. */
export function mixedChatLines(count: number = MESSAGE_COUNT, seed = 53659): ChatLine[] {
  const random = seededRandom(seed);
  const pick = () => FRAGMENTS[Math.floor(random() * FRAGMENTS.length)] as string;
  return Array.from({ length: count }, (_, index) => {
    const pieces = 1 + Math.floor(random() * 4);
    return { sender: index % 2 === 0 ? '客户A' : '客服B', text: Array.from({ length: pieces }, pick).join(' ') };
  });
}

export async function measureRendering(): Promise<BenchRow[]> {
  const lines = mixedChatLines();
  const values = placeholderValues(lines);
  const textChars = values.chat.length + values.chatcontent.length;
  // How escape-heavy the sample is: the share of characters the escaper has to replace.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the characters JSON escaping must replace, control characters included
  const affectedShare = (values.chat.match(/["\\/\u0000-\u001f]/g)?.length ?? 0) / values.chat.length;

  // Escaping alone, for the explanation: the escaper against JSON.stringify on the joined text.
  const escapeOnly = await timeInterleaved(
    {
      escape0: () => (sink.value += escapeText(values.chat, 0).length),
      escape1: () => (sink.value += escapeText(values.chat, 1).length),
      jsonStringify: () => (sink.value += JSON.stringify(values.chat).length),
    },
    { warmupRounds: 200, rounds: 1500 },
  );

  const samples = await timeInterleaved(
    {
      escapeType0: () => (sink.value += renderInput(ECHO_INPUT_PROTOCOL, placeholderValues(lines), 0).length),
      escapeType1: () => (sink.value += renderInput(ECHO_INPUT_PROTOCOL, placeholderValues(lines), 1).length),
      jsonStringify: () => (sink.value += JSON.stringify(placeholderValues(lines)).length),
    },
    { warmupRounds: 200, rounds: 1500 },
  );
  const baseline = summarize(samples.jsonStringify);
  const megabytesPerSecond = (ms: number) => (textChars / (ms / 1000) / 1e6).toFixed(0);

  return ([0, 1] as const).map((escapeType) => {
    const ours = summarize(escapeType === 0 ? samples.escapeType0 : samples.escapeType1);
    const ratio = ours.median / baseline.median;
    return {
      row: `4. render + escape 1000 messages, escape_type ${escapeType}`,
      ours: `${formatMs(ours.median)} (${megabytesPerSecond(ours.median)} M chars/s)`,
      baseline: `${formatMs(baseline.median)} (${megabytesPerSecond(baseline.median)} M chars/s, JSON.stringify)`,
      ratio,
      goal: '≤ 1.5×',
      met: ratio <= 1.5,
      detail: {
        messages: lines.length,
        textChars,
        affectedShare,
        oursMs: ours,
        baselineMs: baseline,
        escapeOnlyMedianMs: {
          escapeText: summarize(escapeType === 0 ? escapeOnly.escape0 : escapeOnly.escape1).median,
          jsonStringify: summarize(escapeOnly.jsonStringify).median,
        },
      },
    };
  });
}
