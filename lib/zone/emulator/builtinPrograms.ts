/**
 * Analysis programs built into the emulator. They see only what a real program sees: the rendered
 * input text of their ability.
 */
import type { ProgramReport } from '../../protocol/zone.js';
import { SENDER_SEPARATOR } from '../../render/render.js';
import type { BuiltinProgramName } from './config.js';

/** `echo`: answers `{"input": <the rendered input text it received>}`. */
export function echoProgram(data: string): ProgramReport {
  return { errcode: 0, result: JSON.stringify({ input: data }) };
}

const NEGATIVE_WORDS = ['差', '慢', '投诉', '失望', '糟糕', '不满', '退款', '生气'];
/** A toy typing speed for the sample's reply-time estimate (characters per second). */
const TYPING_CHARS_PER_SECOND = 2;

interface Turn {
  sender: string;
  text: string;
}

/**
 * Split `{chat}` back into turns. Under escape_type 0 the line breaks became spaces, so a turn also
 * starts at a space followed by `<sender>说：`.
 */
export function parseChatTurns(chat: string): Turn[] {
  return chat
    .split(new RegExp(`\\n| (?=[^\\s${SENDER_SEPARATOR}]{1,64}${SENDER_SEPARATOR})`))
    .map((line) => {
      const at = line.indexOf(SENDER_SEPARATOR);
      return at < 0
        ? { sender: '', text: line }
        : { sender: line.slice(0, at), text: line.slice(at + SENDER_SEPARATOR.length) };
    })
    .filter((turn) => turn.sender !== '' || turn.text !== '');
}

/**
 * `service_statistics`, the sample program of the document's input/output protocol example:
 * `negative_feedback_cnt` counts turns with a complaint word; `avg_reply_time` is a toy estimate
 * (seconds to type each reply at a fixed speed), since a program sees no send times.
 */
export function serviceStatisticsProgram(data: string): ProgramReport {
  const input = JSON.parse(data) as { msg?: unknown };
  const turns = parseChatTurns(typeof input.msg === 'string' ? input.msg : '');
  const replySeconds = turns
    .filter((turn, index) => index > 0 && turn.sender !== turns[index - 1]?.sender)
    .map((turn) => Math.ceil([...turn.text].length / TYPING_CHARS_PER_SECOND));
  const avgReplyTime =
    replySeconds.length === 0 ? 0 : Math.round(replySeconds.reduce((sum, s) => sum + s, 0) / replySeconds.length);
  const negativeFeedbackCnt = turns.filter((turn) => NEGATIVE_WORDS.some((word) => turn.text.includes(word))).length;
  return {
    errcode: 0,
    result: JSON.stringify({ avg_reply_time: avgReplyTime, negative_feedback_cnt: negativeFeedbackCnt }),
  };
}

export const BUILTIN_PROGRAMS: Record<BuiltinProgramName, (data: string) => ProgramReport> = {
  echo: echoProgram,
  service_statistics: serviceStatisticsProgram,
};
