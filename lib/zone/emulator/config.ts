/**
 * The emulator's configuration: the message archive and the programs with their abilities.
 * Validated with zod so a wrong file is refused with the field that is wrong.
 */
import * as z from 'zod';

/** msgtype values the zone can analyse: text, voice, audio archive (spec section 4). */
export const ANALYSABLE_MSGTYPES: ReadonlySet<number> = new Set([1, 6, 21]);

export const ArchivedMessageSchema = z.object({
  msgid: z.string().min(1),
  secret_key: z.string().min(1),
  /** 1 text, 6 voice, 21 audio archive; any other type is archived but cannot be analysed. */
  msgtype: z.int(),
  sender: z.string(),
  /** The text of a text message. */
  text: z.string().optional(),
  /** The transcript of a voice or audio archive message. */
  transcript: z.string().optional(),
  /** Epoch seconds. */
  send_time: z.int().optional(),
  /**
   * The corp whose archive holds the message (a provider serving several corps): only that corp's
   * tasks can resolve it. Unset: every corp's (one corp served).
   */
  corp_id: z.string().min(1).optional(),
});
export type ArchivedMessage = z.infer<typeof ArchivedMessageSchema>;

const JsonObjectText = z.string().refine(
  (text) => {
    try {
      const value: unknown = JSON.parse(text);
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    } catch {
      return false;
    }
  },
  { message: 'must be a JSON object, or the text of one' },
);

/** A protocol as JSON text (as WeCom's admin console takes it) or, in a file, as a JSON object. */
const ProtocolSchema = z.union(
  [JsonObjectText, z.record(z.string(), z.unknown()).transform((object) => JSON.stringify(object))],
  { error: 'must be a JSON object, or the text of one' },
);

export const BuiltinProgramNameSchema = z.enum(['echo', 'service_statistics']);
export type BuiltinProgramName = z.infer<typeof BuiltinProgramNameSchema>;

export const ProgramHandlerConfigSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('builtin'),
    name: BuiltinProgramNameSchema,
    /** How long the program takes before it reports, so a client sees PENDING first. */
    latency_ms: z.int().min(0).default(0),
  }),
  z.object({
    type: z.literal('http'),
    /** The analysis program's URL; the emulator POSTs `{ability_id, job_info, data}` to it. */
    url: z.url(),
  }),
]);

export const AbilityConfigSchema = z.object({
  ability_id: z.string().min(1),
  /** JSON text with `{chat}` / `{chatcontent}` placeholders inside its strings. */
  input_protocol: ProtocolSchema,
  /** An example of the program's output: outputs must match its keys and value types. */
  output_protocol: ProtocolSchema,
  handler: ProgramHandlerConfigSchema,
});
export type AbilityConfig = z.infer<typeof AbilityConfigSchema>;

export const ProgramConfigSchema = z.object({
  program_id: z.string().min(1),
  abilities: z.array(AbilityConfigSchema).min(1),
});
export type ProgramConfig = z.infer<typeof ProgramConfigSchema>;
/** As written in a programs file (protocols may be objects). */
export type ProgramConfigInput = z.input<typeof ProgramConfigSchema>;

/** The archive file: `{"messages": [...]}`; msgids are unique within a corp's archive. */
export const ArchiveFileSchema = z.object({
  messages: z.array(ArchivedMessageSchema).superRefine((messages, context) => {
    const seen = new Set<string>();
    messages.forEach((message, index) => {
      const key = archiveKey(message.corp_id, message.msgid);
      if (seen.has(key)) {
        context.addIssue({ code: 'custom', path: [index, 'msgid'], message: `duplicate msgid ${message.msgid}` });
      }
      seen.add(key);
    });
  }),
});

/** The programs file: `{"programs": [...]}`; program ids, and ability ids within a program, are unique. */
export const ProgramsFileSchema = z.object({
  programs: z.array(ProgramConfigSchema).superRefine((programs, context) => {
    const seen = new Set<string>();
    programs.forEach((program, index) => {
      if (seen.has(program.program_id)) {
        context.addIssue({
          code: 'custom',
          path: [index, 'program_id'],
          message: `duplicate program_id ${program.program_id}`,
        });
      }
      seen.add(program.program_id);
      const abilities = new Set<string>();
      program.abilities.forEach((ability, abilityIndex) => {
        if (abilities.has(ability.ability_id)) {
          context.addIssue({
            code: 'custom',
            path: [index, 'abilities', abilityIndex, 'ability_id'],
            message: `duplicate ability_id ${ability.ability_id}`,
          });
        }
        abilities.add(ability.ability_id);
      });
    });
  }),
});

/** Where a message is kept in the emulator's archive: its corp (none: every corp's) and msgid. */
export function archiveKey(corpId: string | undefined, msgid: string): string {
  return `${corpId ?? ''}\n${msgid}`;
}
