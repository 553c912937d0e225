/**
 * What the command line prints about a task, for people (`--json` prints the API's JSON instead).
 */
import type { TaskView } from '../tasks/task.js';
import { getCommandLine } from './args.js';
import type { CreatedTask } from './client.js';
import { printable } from './client.js';

const row = (label: string, value: string) => `${label.padEnd(17)}${value}`;

function failList(list: TaskView['fail_list']): string[] {
  if (list.length === 0) return [];
  return [
    row('fail_list', `${list.length} message(s) not used:`),
    ...list.map((failed) => `  ${printable(failed.msgid, 200)}  ${failed.errcode}  ${printable(failed.errmsg, 200)}`),
  ];
}

/** `response_data` pretty-printed when it is JSON (it normally is: the ability's output protocol). */
export function formatResponseData(data: string): string {
  try {
    return JSON.stringify(JSON.parse(data), null, 2);
  } catch {
    return printable(data, 100_000);
  }
}

function duration(from: string, to: string | null): string {
  if (!to) return '';
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ` (${(ms / 1000).toFixed(1)} s after creation)` : '';
}

/** A few aligned lines, then `response_data`. */
export function formatTask(view: TaskView): string {
  const lines = [
    row('jobid', view.jobid),
    row('status', view.status),
    row('program', `${printable(view.program_id, 200)} / ${printable(view.ability_id, 200)}`),
    row('polls', String(view.attempts)),
    row('created', view.created_at),
  ];
  if (view.completed_at)
    lines.push(row('completed', `${view.completed_at}${duration(view.created_at, view.completed_at)}`));
  else lines.push(row('updated', view.updated_at));
  if (view.errcode !== null)
    lines.push(row('errcode', `${view.errcode}${view.errmsg ? ` (${printable(view.errmsg, 300)})` : ''}`));
  if (view.response_errcode !== null) lines.push(row('response_errcode', String(view.response_errcode)));
  lines.push(...failList(view.fail_list));
  if (view.response_data !== null) lines.push('response_data:', formatResponseData(view.response_data));
  return `${lines.join('\n')}\n`;
}

/** The 202 answer of `submit` without `--wait`. */
export function formatAccepted(task: CreatedTask, options: { replayed: boolean; program: string }): string {
  const lines = [
    row('jobid', task.jobid),
    row('status', `${task.status}${options.replayed ? ' (an earlier submit with this Idempotency-Key)' : ''}`),
    ...failList(task.fail_list),
    row('follow it', getCommandLine(task.jobid)),
  ];
  return `${lines.join('\n')}\n`;
}
