/**
 * The zone wire protocol (WeCom doc 53659), defined once. Every type of the two interfaces is
 * inferred from these schemas; see `docs/zone-protocol.md` sections 2–3.
 */
import * as z from 'zod';

/** WeCom accepts at most this many messages in one `create_program_task` call. */
export const MAX_MESSAGES_PER_TASK = 1000;

export const ZONE_API = {
  createProgramTask: 'create_program_task',
  getProgramTaskResult: 'get_program_task_result',
} as const;
export type ZoneApiName = (typeof ZONE_API)[keyof typeof ZONE_API];

const nonEmptyString = z.string().min(1, 'must be a non-empty string');

export const MessageRefSchema = z.object({
  msgid: nonEmptyString,
  encrypt_info: z.object({ secret_key: nonEmptyString }),
});
export type MessageRef = z.infer<typeof MessageRefSchema>;

export const DebugInfoSchema = z.object({
  chat: z.string(),
  chat_content: z.string(),
});
export type DebugInfo = z.infer<typeof DebugInfoSchema>;

/** 0: each affected character becomes a space; 1: each becomes its JSON escape. */
export const EscapeTypeSchema = z.union([z.literal(0), z.literal(1)], {
  error: 'must be 0 or 1',
});
export type EscapeType = z.infer<typeof EscapeTypeSchema>;

export const createProgramTaskRequestShape = {
  program_id: nonEmptyString,
  ability_id: nonEmptyString,
  msg_list: z
    .array(MessageRefSchema)
    .min(1, 'must hold at least 1 message')
    .max(MAX_MESSAGES_PER_TASK, `must hold at most ${MAX_MESSAGES_PER_TASK} messages`),
  debug_info: DebugInfoSchema.optional(),
  escape_type: EscapeTypeSchema.default(0),
};

/** As the zone reads it: unknown top-level fields are ignored. */
export const CreateProgramTaskRequestSchema = z.object(createProgramTaskRequestShape);
export type CreateProgramTaskRequest = z.infer<typeof CreateProgramTaskRequestSchema>;
/** What a caller may write (escape_type optional). */
export type CreateProgramTaskInput = z.input<typeof CreateProgramTaskRequestSchema>;

/** A create-time failure: only duplicated msgids, echoed with their key as the document shows. */
export const CreateFailMsgSchema = z.object({
  errcode: z.int(),
  errmsg: z.string(),
  msgid: z.string(),
  encrypt_info: z.object({ secret_key: z.string() }).optional(),
});
export type CreateFailMsg = z.infer<typeof CreateFailMsgSchema>;

export const CreateProgramTaskResponseSchema = z.object({
  errcode: z.int(),
  errmsg: z.string().default(''),
  jobid: z.string().optional(),
  fail_list: z.array(CreateFailMsgSchema).default([]),
  /** Listed by doc 53659 (a leftover of the model interfaces); the zone may send it, we never use it. */
  fail_tag_group_id_list: z.array(z.string()).optional(),
});
export type CreateProgramTaskResponse = z.infer<typeof CreateProgramTaskResponseSchema>;

export const GetProgramTaskResultRequestSchema = z.object({ jobid: nonEmptyString });

/** A message the zone could not use: unknown msgid, wrong key, unsupported type... */
export const ResultFailMsgSchema = z.object({
  errcode: z.int(),
  errmsg: z.string(),
  msgid: z.string(),
});
export type ResultFailMsg = z.infer<typeof ResultFailMsgSchema>;

/**
 * A result's fail_list entry as the zone may write it: doc 53659 points the result's fail_list at
 * "FailMsg说明", which includes `encrypt_info.secret_key`. Parsing drops the key, so it never reaches
 * a record, a log or an answer; the relay's output protocol (generated from this) still admits it.
 */
const ResultFailMsgWireSchema = ResultFailMsgSchema.extend({
  encrypt_info: z.object({ secret_key: z.string() }).optional(),
}).transform(({ errcode, errmsg, msgid }): ResultFailMsg => ({ errcode, errmsg, msgid }));

export const GetProgramTaskResultResponseSchema = z.object({
  errcode: z.int(),
  errmsg: z.string().default(''),
  fail_list: z.array(ResultFailMsgWireSchema).default([]),
  response_errcode: z.int().optional(),
  /** The program's output, a JSON string in the ability's output protocol. */
  response_data: z.string().optional(),
});
export type GetProgramTaskResultResponse = z.infer<typeof GetProgramTaskResultResponseSchema>;

/** What an analysis program reports through `program_async_job_call_back`. */
export const ProgramReportSchema = z.object({
  errcode: z.int(),
  result: z.string(),
});
export type ProgramReport = z.infer<typeof ProgramReportSchema>;

/** The responses as the zone writes them (fields with defaults may be absent). */
export type CreateProgramTaskResponseWire = z.input<typeof CreateProgramTaskResponseSchema>;
export type GetProgramTaskResultResponseWire = z.input<typeof GetProgramTaskResultResponseSchema>;
