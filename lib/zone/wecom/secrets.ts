/**
 * The corp secret, read from SSM Parameter Store (a SecureString) or Secrets Manager through
 * Powertools parameters, which cache values for `maxAgeSeconds`. The environment names where the
 * secret lives (WECOM_CORP_SECRET_PARAM / WECOM_CORP_SECRET_ARN), never the secret itself.
 *
 * Every source reads the value byte for byte, less a trailing line break (`secretText.ts`: a value
 * stored from `echo secret > f` ends in "\n", and WeCom would refuse it with 40001 forever); a value
 * that still starts or ends in whitespace is refused, naming where it lives.
 *
 * Every source is single-flight: while a read is in flight, concurrent callers share it, so a cold
 * start with many concurrent calls reads the secret once. Errors name the location, never a value.
 */
import { readFile } from 'node:fs/promises';
import { getSecret, SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { getParameter, SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { secretText } from '../../secretText.js';
import { DEFAULT_SECRET_MAX_AGE_SECONDS } from './env.js';

export interface SecretReadOptions {
  /** Skip the cache: the secret may have been rotated since it was read. */
  forceFetch?: boolean;
}

export interface SecretSource {
  /** Where the secret lives (`ssm:/wecom/corp-secret`), for errors and logs: never the value. */
  readonly location: string;
  get(options?: SecretReadOptions): Promise<string>;
}

export class SecretUnavailableError extends Error {
  override readonly name = 'SecretUnavailableError';
}

/** Powertools' default is 5 s; a corp secret changes rarely, and a refused one is re-read at once. */
export { DEFAULT_SECRET_MAX_AGE_SECONDS };

export interface SsmSecretOptions {
  /** The parameter's name or ARN. */
  name: string;
  maxAgeSeconds?: number;
  /** For tests and custom endpoints; default: Powertools' shared provider (`getParameter`). */
  client?: SSMClient;
  /** Read the value as JSON and take this key. */
  jsonKey?: string;
}

/** A SecureString (or String) parameter, decrypted. */
export function ssmSecret(options: SsmSecretOptions): SecretSource {
  const location = `ssm:${options.name}`;
  const provider = options.client ? new SSMProvider({ awsSdkV3Client: options.client }) : undefined;
  const maxAge = options.maxAgeSeconds ?? DEFAULT_SECRET_MAX_AGE_SECONDS;
  return singleFlight(location, async ({ forceFetch = false } = {}) => {
    const getOptions = { decrypt: true, maxAge, forceFetch };
    const value = await read(location, () =>
      provider ? provider.get(options.name, getOptions) : getParameter(options.name, getOptions),
    );
    return extract(location, value, options.jsonKey);
  });
}

export interface SecretsManagerSecretOptions {
  /** The secret's ARN or name. */
  secretId: string;
  maxAgeSeconds?: number;
  /** For tests and custom endpoints; default: Powertools' shared provider (`getSecret`). */
  client?: SecretsManagerClient;
  /** The secret is JSON (as the console stores key/value secrets): take this key. */
  jsonKey?: string;
}

export function secretsManagerSecret(options: SecretsManagerSecretOptions): SecretSource {
  const location = `secretsmanager:${options.secretId}`;
  const provider = options.client ? new SecretsProvider({ awsSdkV3Client: options.client }) : undefined;
  const maxAge = options.maxAgeSeconds ?? DEFAULT_SECRET_MAX_AGE_SECONDS;
  return singleFlight(location, async ({ forceFetch = false } = {}) => {
    const getOptions = { maxAge, forceFetch };
    const value = await read(location, () =>
      provider ? provider.get(options.secretId, getOptions) : getSecret(options.secretId, getOptions),
    );
    return extract(location, value, options.jsonKey);
  });
}

export interface FileSecretOptions {
  /** A file holding the secret (`npm start` only; on Lambda use SSM or Secrets Manager). */
  path: string;
  jsonKey?: string;
}

/**
 * A secret in a local file, read on every forced read (a rotated file is picked up when WeCom refuses
 * the old value). The trailing line break an editor or `echo` adds is not part of the secret.
 */
export function fileSecret(options: FileSecretOptions): SecretSource {
  const location = `file:${options.path}`;
  let cached: string | undefined;
  return singleFlight(location, async ({ forceFetch = false } = {}) => {
    if (cached !== undefined && !forceFetch) return cached;
    const value = await read(location, () => readFile(options.path, 'utf8'));
    cached = extract(location, value, options.jsonKey);
    return cached;
  });
}

/** Concurrent reads share the one in flight (a forced read joins it too: it is just as fresh). */
export function singleFlight(
  location: string,
  readSecret: (options?: SecretReadOptions) => Promise<string>,
): SecretSource {
  let inFlight: Promise<string> | undefined;
  return {
    location,
    get(options) {
      if (!inFlight) {
        inFlight = readSecret(options).finally(() => {
          inFlight = undefined;
        });
      }
      return inFlight;
    },
  };
}

async function read(location: string, get: () => Promise<unknown>): Promise<unknown> {
  try {
    return await get();
  } catch (error) {
    // The name of the error only (GetParameterError, ...): never a message we did not write.
    // A file's errno code (ENOENT, EACCES) says more than its class name.
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const kind =
      typeof code === 'string'
        ? code
        : error instanceof Error
          ? error.cause instanceof Error
            ? error.cause.name
            : error.name
          : typeof error;
    throw new SecretUnavailableError(`the corp secret could not be read from ${location} (${kind})`);
  }
}

/** The secret in a value read from `location`: byte for byte, less a trailing line break (`secretText`). */
function extract(location: string, value: unknown, jsonKey: string | undefined): string {
  const raw = value instanceof Uint8Array ? new TextDecoder().decode(value) : value;
  const text = typeof raw === 'string' ? clean(location, raw) : raw;
  if (typeof text !== 'string' || text === '') throw new SecretUnavailableError(`${location} holds no secret`);
  if (jsonKey === undefined) return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SecretUnavailableError(`${location} is not JSON, but a JSON key (${jsonKey}) was configured`);
  }
  const field =
    parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>)[jsonKey] : undefined;
  if (typeof field !== 'string' || field === '')
    throw new SecretUnavailableError(`${location} has no string at key ${jsonKey}`);
  return clean(`${location} (key ${jsonKey})`, field);
}

function clean(location: string, text: string): string {
  try {
    return secretText(location, text);
  } catch (error) {
    throw new SecretUnavailableError((error as Error).message);
  }
}
