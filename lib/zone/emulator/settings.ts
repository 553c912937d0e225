/**
 * Building the emulator from files and environment variables, for `npm run zone` and `npm start`.
 * A wrong file or value is refused with the file and the field that are wrong.
 */
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { jsonErrorPlace } from '../../jsonError.js';
import { ConfigurationError, type Env, parseEnv } from '../../shared/env.js';
import { formatPath } from '../../shared/issuePath.js';
import { type ArchivedMessage, ArchiveFileSchema, type ProgramConfig, ProgramsFileSchema } from './config.js';
import { ZoneEmulator, type ZoneFaults } from './emulator.js';
import { httpProgramRunner } from './externalProgram.js';
import { SAMPLE_ARCHIVE, SAMPLE_PROGRAM_LATENCY_MS, samplePrograms } from './sample.js';

/** A wrong ZONE_* setting or emulator file: the message names the variable or the file and field. */
export class ZoneConfigError extends ConfigurationError {
  override readonly name: string = 'ZoneConfigError';
}

const flag = z.enum(['0', '1', 'true', 'false']).transform((value) => value === '1' || value === 'true');
const errcodeList = z
  .string()
  .regex(/^\s*-?\d+(\s*,\s*-?\d+)*\s*$/, 'must be a comma-separated list of integer codes')
  .transform((text) => text.split(',').map((code) => Number(code.trim())));

export const ZoneEnvSchema = z
  .object({
    /** The message archive file (JSON): see docs/local.md "Bring your own program: the zone emulator". Default: the sample archive. */
    ZONE_ARCHIVE_FILE: z.string().min(1).optional(),
    /** The programs file (JSON). Default: the sample programs. */
    ZONE_PROGRAMS_FILE: z.string().min(1).optional(),
    ZONE_DEBUG: flag.default(false),
    /** How long the built-in sample programs take before they report. */
    ZONE_PROGRAM_LATENCY_MS: z.coerce.number().int().min(0).default(SAMPLE_PROGRAM_LATENCY_MS),
    /** How long an external program may take to accept a call. */
    ZONE_PROGRAM_TIMEOUT_MS: z.coerce.number().int().min(1).default(30_000),
    ZONE_RETENTION_SECONDS: z.coerce.number().int().min(1).default(86_400),
    ZONE_DUPLICATE_ERRCODE: z.coerce.number().int().optional(),
    ZONE_FAULT_LATENCY_MS: z.coerce.number().int().min(0).default(0),
    ZONE_FAULT_ERROR_RATE: z.coerce.number().min(0).max(1).default(0),
    ZONE_FAULT_ERRCODES: errcodeList.optional(),
    /** WeCom's per-corp limit, enforced: calls per window beyond it answer 45009 (0: off). */
    ZONE_RATE_LIMIT: z.coerce.number().int().min(0).default(0),
    ZONE_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).optional(),
  })
  // Knobs that only act together: one set without the other would be silently ignored.
  .superRefine((env, context) => {
    if (env.ZONE_FAULT_ERRCODES !== undefined && env.ZONE_FAULT_ERROR_RATE === 0) {
      context.addIssue({
        code: 'custom',
        path: ['ZONE_FAULT_ERRCODES'],
        message: 'has no effect unless ZONE_FAULT_ERROR_RATE is above 0',
      });
    }
    if (env.ZONE_RATE_LIMIT_WINDOW_SECONDS !== undefined && env.ZONE_RATE_LIMIT === 0) {
      context.addIssue({
        code: 'custom',
        path: ['ZONE_RATE_LIMIT_WINDOW_SECONDS'],
        message: 'has no effect unless ZONE_RATE_LIMIT is above 0',
      });
    }
  })
  .transform((env) => ({ ...env, ZONE_RATE_LIMIT_WINDOW_SECONDS: env.ZONE_RATE_LIMIT_WINDOW_SECONDS ?? 60 }));
export type ZoneEnv = z.infer<typeof ZoneEnvSchema>;

/** The ZONE_* settings, blank values unset (`parseEnv`); a wrong one throws ZoneConfigError naming it. */
export function parseZoneEnv(env: Env): ZoneEnv {
  return parseEnv(ZoneEnvSchema, env, { what: 'zone configuration', errorClass: ZoneConfigError });
}

async function loadJsonFile<S extends z.ZodType>(path: string, schema: S, field: string): Promise<z.infer<S>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ZoneConfigError(`${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Only the place: V8's message quotes the text around the error (archived chat, secret keys).
    throw new ZoneConfigError(`${path}: not valid JSON${jsonErrorPlace(text)}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? formatPath(issue.path) : field;
    throw new ZoneConfigError(`${path}: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/**
 * @example
 * const archive = await loadArchiveFile('examples/archive.json');
 */
export async function loadArchiveFile(path: string): Promise<ArchivedMessage[]> {
  return (await loadJsonFile(path, ArchiveFileSchema, 'messages')).messages;
}

export async function loadProgramsFile(path: string): Promise<ProgramConfig[]> {
  return (await loadJsonFile(path, ProgramsFileSchema, 'programs')).programs;
}

export interface ConfiguredEmulator {
  emulator: ZoneEmulator;
  /** Where external programs report: set once the emulator's HTTP server is listening. */
  setCallbackUrl(url: string): void;
  /** For the start-up line: which archive and programs are loaded. */
  summary: string;
}

/** The emulator as the environment (and command-line file options) configure it. */
export async function configureEmulator(
  env: ZoneEnv,
  files: { archive?: string; programs?: string } = {},
): Promise<ConfiguredEmulator> {
  const archiveFile = files.archive ?? env.ZONE_ARCHIVE_FILE;
  const programsFile = files.programs ?? env.ZONE_PROGRAMS_FILE;
  const archive = archiveFile ? await loadArchiveFile(archiveFile) : SAMPLE_ARCHIVE;
  const programs = programsFile ? await loadProgramsFile(programsFile) : samplePrograms(env.ZONE_PROGRAM_LATENCY_MS);
  let callbackUrl: string | undefined;
  const faults: ZoneFaults | undefined =
    env.ZONE_FAULT_LATENCY_MS > 0 || env.ZONE_FAULT_ERROR_RATE > 0 || env.ZONE_RATE_LIMIT > 0
      ? {
          latencyMs: env.ZONE_FAULT_LATENCY_MS,
          errorRate: env.ZONE_FAULT_ERROR_RATE,
          errcodes: env.ZONE_FAULT_ERRCODES,
          rateLimit:
            env.ZONE_RATE_LIMIT > 0
              ? { limit: env.ZONE_RATE_LIMIT, windowSeconds: env.ZONE_RATE_LIMIT_WINDOW_SECONDS }
              : undefined,
        }
      : undefined;
  const emulator = new ZoneEmulator({
    archive,
    programs,
    debug: env.ZONE_DEBUG,
    retentionSeconds: env.ZONE_RETENTION_SECONDS,
    duplicateErrcode: env.ZONE_DUPLICATE_ERRCODE,
    faults,
    runExternal: httpProgramRunner({ callbackUrl: () => callbackUrl, timeoutMs: env.ZONE_PROGRAM_TIMEOUT_MS }),
  });
  const summary = [
    `${archive.length} archived messages from ${archiveFile ?? 'the sample archive'}`,
    `${programs.length} program(s) from ${programsFile ?? 'the sample programs'}`,
    env.ZONE_DEBUG ? 'debug mode' : '',
    faults ? `faults: +${env.ZONE_FAULT_LATENCY_MS} ms, ${env.ZONE_FAULT_ERROR_RATE * 100}% errors` : '',
    env.ZONE_RATE_LIMIT > 0 ? `rate limit ${env.ZONE_RATE_LIMIT} calls / ${env.ZONE_RATE_LIMIT_WINDOW_SECONDS} s` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return {
    emulator,
    setCallbackUrl: (url) => {
      callbackUrl = url;
    },
    summary,
  };
}
