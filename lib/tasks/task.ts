/**
 * The task record: what we keep about a zone task. Ids, counts, codes and times only; never a
 * `secret_key`, chat text, `debug_info` or rendered input (spec section 6).
 */
import * as z from 'zod';
import { ResultFailMsgSchema } from '../protocol/zone.js';

export const TASK_STATUSES = ['PENDING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT'] as const;
export const TaskStatusSchema = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof TaskStatusSchema>;
export type TerminalStatus = Exclude<TaskStatus, 'PENDING'>;

/** A message the zone did not use, without its key: duplicates at creation, failures at result. */
export const FailedMessageSchema = ResultFailMsgSchema;
export type FailedMessage = z.infer<typeof FailedMessageSchema>;

export const TaskRecordSchema = z.object({
  jobid: z.string(),
  status: TaskStatusSchema,
  program_id: z.string(),
  ability_id: z.string(),
  /** Whose WeCom limits the task's calls count against (the call budget's key). */
  corp_id: z.string(),
  escape_type: z.int(),
  /** Messages sent to the zone, after de-duplication. */
  message_count: z.int(),
  /** Duplicated msgids the zone dropped at creation (their keys are not kept). */
  duplicate_list: z.array(FailedMessageSchema),
  /** Polls claimed so far; every step of the poll chain is a conditional write on it. */
  attempts: z.int(),
  /**
   * The generation of the task's poll message. The sweeper bumps it when it resumes an orphaned
   * task with a new message; a message of an older generation is then let go, so two chains never run.
   */
  chain: z.int(),
  created_at: z.string(),
  updated_at: z.string(),
  /** Epoch ms: the earliest time the next poll may run (also the lease of a running poll). */
  next_poll_at: z.number(),
  /** Epoch ms: after this the task ends as TIMED_OUT. */
  deadline_at: z.number(),
  /** Epoch seconds: DynamoDB TTL. */
  expires_at: z.int(),
  /** The last answer that was not final (pending or transient), for diagnosis. */
  last_errcode: z.int().optional(),
  /** Consecutive transient answers (busy, rate-limited, unreachable): the poller backs off on them. */
  transient_streak: z.int().optional(),
  /** Set when the zone ended the task with an error (not the program's own errcode). */
  errcode: z.int().optional(),
  errmsg: z.string().optional(),
  response_errcode: z.int().optional(),
  response_data: z.string().optional(),
  fail_list: z.array(FailedMessageSchema).optional(),
  completed_at: z.string().optional(),
  /** Where to POST the signed completion callback (not sent to the zone). */
  callback_url: z.string().optional(),
  /** Completion notifications: each is retried, with its own message, until done. */
  event_published_at: z.string().optional(),
  event_attempts: z.int().optional(),
  event_abandoned: z.boolean().optional(),
  callback_delivered_at: z.string().optional(),
  callback_attempts: z.int().optional(),
  callback_abandoned: z.boolean().optional(),
});
export type TaskRecord = z.infer<typeof TaskRecordSchema>;

/** The notification fields a finished task gains. */
export type NotificationFields = Partial<
  Pick<
    TaskRecord,
    | 'event_published_at'
    | 'event_attempts'
    | 'event_abandoned'
    | 'callback_delivered_at'
    | 'callback_attempts'
    | 'callback_abandoned'
  >
>;

/** The fields a finished task gains. */
export interface TaskOutcome {
  status: TerminalStatus;
  errcode?: number;
  errmsg?: string;
  response_errcode?: number;
  response_data?: string;
  fail_list?: FailedMessage[];
}

/** What `GET /tasks/{jobid}` answers. */
export const TaskViewSchema = z.object({
  jobid: z.string(),
  status: TaskStatusSchema,
  program_id: z.string(),
  ability_id: z.string(),
  attempts: z.int(),
  created_at: z.string(),
  updated_at: z.string(),
  completed_at: z.string().nullable(),
  errcode: z.int().nullable(),
  errmsg: z.string().nullable(),
  response_errcode: z.int().nullable(),
  response_data: z.string().nullable(),
  fail_list: z.array(FailedMessageSchema),
});
export type TaskView = z.infer<typeof TaskViewSchema>;

/** The 202 answer of `POST /tasks` (and what an Idempotency-Key replays): the view's jobid and fail_list, while PENDING. */
export const SubmittedTaskSchema = TaskViewSchema.pick({ jobid: true, fail_list: true }).extend({
  status: TaskStatusSchema.extract(['PENDING']),
});
export type SubmittedTask = z.infer<typeof SubmittedTaskSchema>;

/** `fail_list` of the view: create-time duplicates, then the messages the zone could not use. */
export function taskView(task: TaskRecord): TaskView {
  return {
    jobid: task.jobid,
    status: task.status,
    program_id: task.program_id,
    ability_id: task.ability_id,
    attempts: task.attempts,
    created_at: task.created_at,
    updated_at: task.updated_at,
    completed_at: task.completed_at ?? null,
    errcode: task.errcode ?? null,
    errmsg: task.errmsg ?? null,
    response_errcode: task.response_errcode ?? null,
    response_data: task.response_data ?? null,
    fail_list: [...task.duplicate_list, ...(task.fail_list ?? [])],
  };
}

export function isTerminal(status: TaskStatus): status is TerminalStatus {
  return status !== 'PENDING';
}
