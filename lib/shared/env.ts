/**
 * The one way this service reads settings from environment variables: a zod schema per group of
 * variables (`lib/config.ts`, `lib/zone/wecom/env.ts`, `lib/zone/emulator/settings.ts`,
 * `lib/local/env.ts`), parsed by {@link parseEnv}, which
 *
 * - treats a blank value (empty, or only whitespace) as unset, everywhere: `serverless.yml` writes
 *   `${env:X, ''}` for an optional variable, and `X= npm start` or a `.env` line `X=` means "not set",
 *   so a blank number never becomes 0 and a blank name never becomes a name;
 * - answers a wrong value with a {@link ConfigurationError} that names every offending variable and
 *   what is wrong with it, never the value itself (it may be a secret: a token, a key).
 */
import * as z from 'zod';

/** Environment variables as `process.env` holds them. */
export type Env = Record<string, string | undefined>;

/** A setting is missing, wrong or contradicts another: the message names the variable(s), never a value. */
export class ConfigurationError extends Error {
  override readonly name: string = 'ConfigurationError';
}

/** Whether an environment value counts as unset: undefined, empty or only whitespace. */
export function isBlank(value: unknown): boolean {
  return value === undefined || (typeof value === 'string' && value.trim() === '');
}

/** The environment without its blank values (see {@link isBlank}). */
export function withoutBlanks(env: Env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => !isBlank(value))) as Record<string, string>;
}

/**
 * A schema for one variable that reads a blank value as unset, for schemas that are also parsed on
 * their own (not only through {@link parseEnv}): the same rule as {@link withoutBlanks}.
 */
export function unsetIfBlank<S extends z.ZodType>(schema: S) {
  return z.preprocess((value) => (isBlank(value) ? undefined : value), schema);
}

/**
 * Parse `env` with `schema`, blank values unset. Throws `new errorClass(message)` (default
 * {@link ConfigurationError}) whose message is `invalid <what>: VARIABLE: problem; …`.
 *
 * @example
 * const { TASKS_TABLE } = parseEnv(z.object({ TASKS_TABLE: z.string().min(1) }), process.env);
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Env,
  options: { what?: string; errorClass?: new (message: string) => Error } = {},
): z.infer<S> {
  const parsed = schema.safeParse(withoutBlanks(env));
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
  const ErrorClass = options.errorClass ?? ConfigurationError;
  throw new ErrorClass(`invalid ${options.what ?? 'configuration'}: ${problems}`);
}
