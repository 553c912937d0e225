/**
 * What a `get_program_task_result` answer means for the task: wait, retry later, or finish.
 */
import { DEFAULT_PENDING_ERRCODES, DEFAULT_TRANSIENT_ERRCODES, ERRCODE } from '../protocol/errcodes.js';
import type { GetProgramTaskResultResponse } from '../protocol/zone.js';
import type { TaskOutcome } from '../tasks/task.js';

export type ResultClass =
  /** The program has not reported yet. */
  | { kind: 'pending'; errcode: number }
  /** The zone or the transport is busy or failing: ask again later, bounded by the deadline. */
  | { kind: 'transient'; errcode: number }
  | { kind: 'final'; outcome: TaskOutcome };

export interface ResultClassifier {
  pendingErrcodes: ReadonlySet<number>;
  transientErrcodes: ReadonlySet<number>;
}

export const DEFAULT_CLASSIFIER: ResultClassifier = {
  pendingErrcodes: new Set(DEFAULT_PENDING_ERRCODES),
  transientErrcodes: new Set(DEFAULT_TRANSIENT_ERRCODES),
};

/**
 * @example
 * classifyResult({ errcode: 710642, errmsg: 'waiting', fail_list: [] }) // { kind: 'pending', errcode: 710642 }
 */
export function classifyResult(
  answer: GetProgramTaskResultResponse,
  classifier: ResultClassifier = DEFAULT_CLASSIFIER,
): ResultClass {
  const { errcode } = answer;
  if (classifier.pendingErrcodes.has(errcode)) return { kind: 'pending', errcode };
  if (classifier.transientErrcodes.has(errcode)) return { kind: 'transient', errcode };
  if (errcode === ERRCODE.ok) {
    // The document defines no status field: success without output is not finished yet.
    if (!answer.response_data) return { kind: 'pending', errcode };
    const programErrcode = answer.response_errcode ?? ERRCODE.ok;
    return {
      kind: 'final',
      outcome: {
        status: programErrcode === ERRCODE.ok ? 'SUCCEEDED' : 'FAILED',
        response_errcode: programErrcode,
        response_data: answer.response_data,
        fail_list: answer.fail_list,
      },
    };
  }
  return {
    kind: 'final',
    outcome: { status: 'FAILED', errcode, errmsg: answer.errmsg, fail_list: answer.fail_list },
  };
}

/** Parse a comma-separated list of errcodes, as the configuration gives them. */
export function parseErrcodeList(text: string): Set<number> {
  const codes = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(Number);
  if (codes.some((code) => !Number.isInteger(code))) throw new Error(`not a list of integer errcodes: "${text}"`);
  return new Set(codes);
}
