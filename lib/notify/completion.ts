/**
 * What the world is told when a task ends: an EventBridge event `ProgramTaskCompleted` and, when the
 * request named one, a signed HTTPS callback. Both carry ids, status, codes and times: never chat
 * content, keys or the program's output (fetch that with GET /tasks/{jobid}).
 */
import * as z from 'zod';
import { type TaskRecord, TaskStatusSchema } from '../tasks/task.js';

export const COMPLETION_DETAIL_TYPE = 'ProgramTaskCompleted';

export const CompletionEventSchema = z.object({
  jobid: z.string(),
  status: TaskStatusSchema,
  program_id: z.string(),
  ability_id: z.string(),
  /** Set when the zone ended the task with an error. */
  errcode: z.int().nullable(),
  /** The errcode the analysis program reported. */
  response_errcode: z.int().nullable(),
  attempts: z.int(),
  failed_messages: z.int(),
  created_at: z.string(),
  completed_at: z.string(),
  duration_ms: z.int(),
});
export type CompletionEvent = z.infer<typeof CompletionEventSchema>;

export function completionEvent(task: TaskRecord): CompletionEvent {
  const completedAt = task.completed_at ?? task.updated_at;
  return {
    jobid: task.jobid,
    status: task.status,
    program_id: task.program_id,
    ability_id: task.ability_id,
    errcode: task.errcode ?? null,
    response_errcode: task.response_errcode ?? null,
    attempts: task.attempts,
    failed_messages: task.duplicate_list.length + (task.fail_list?.length ?? 0),
    created_at: task.created_at,
    completed_at: completedAt,
    duration_ms: Math.max(0, Date.parse(completedAt) - Date.parse(task.created_at)),
  };
}

/** Where completion events go (EventBridge on AWS, a list in memory locally). */
export interface CompletionPublisher {
  publish(event: CompletionEvent): Promise<void>;
}

/** Completion events in memory (the local stack, tests): the most recent `keep` (default 10 000), so a long-running server stays flat. */
export class MemoryCompletionPublisher implements CompletionPublisher {
  readonly published: CompletionEvent[] = [];
  constructor(readonly keep = 10_000) {}

  async publish(event: CompletionEvent): Promise<void> {
    this.published.push(structuredClone(event));
    // Drop the older half at once: amortised O(1) per event.
    if (this.published.length > this.keep) this.published.splice(0, this.published.length - Math.floor(this.keep / 2));
  }
}
