/**
 * The AWS adapter of {@link CorpCredentialStore}: SSM Parameter Store SecureStrings under the stage's
 * prefix (serverless.yml grants the functions `parameter/wecom-zone-tasks/<stage>/*` only):
 *
 *   <prefix>/corps/<corpid>            one corp: kind, secret or permanent code, status, overrides (JSON)
 *   <prefix>/suites/<suite_id>/secret  a suite: kind, suite_secret, callback Token, EncodingAESKey (JSON)
 *   <prefix>/suites/<suite_id>/ticket  the latest suite_ticket and its TimeStamp (JSON)
 *
 * Values are read with decryption and cached for `maxAgeSeconds` (a cancelled corp or a rotated
 * secret is seen within that time by warm functions, at once when read with `forceFetch`). Errors
 * name the parameter and the SDK error's name, never a value.
 */
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type * as z from 'zod';
import {
  type CorpCredentialStore,
  CredentialStoreError,
  type ReadOptions,
  type StoredCorp,
  StoredCorpSchema,
  type SuiteEntry,
  SuiteEntrySchema,
  type SuiteTicket,
  SuiteTicketSchema,
} from './port.js';

export interface SsmCorpStoreOptions {
  client: SSMClient;
  /** `/wecom-zone-tasks/<stage>` (no trailing slash needed). */
  prefix: string;
  /** How long a value read is reused. Default 60 s. */
  maxAgeSeconds?: number;
  now?: () => number;
}

export const DEFAULT_CORP_ENTRY_MAX_AGE_SECONDS = 60;

export class SsmCorpStore implements CorpCredentialStore {
  readonly location: string;
  readonly #client: SSMClient;
  readonly #prefix: string;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { value: unknown; at: number }>();

  constructor(options: SsmCorpStoreOptions) {
    this.#prefix = options.prefix.replace(/\/+$/, '');
    if (!this.#prefix.startsWith('/')) throw new TypeError('prefix must start with /');
    this.location = `ssm:${this.#prefix}`;
    this.#client = options.client;
    this.#maxAgeMs = (options.maxAgeSeconds ?? DEFAULT_CORP_ENTRY_MAX_AGE_SECONDS) * 1000;
    this.#now = options.now ?? Date.now;
  }

  corpParameter(corpId: string): string {
    return `${this.#prefix}/corps/${corpId}`;
  }

  suiteParameter(suiteId: string, what: 'secret' | 'ticket'): string {
    return `${this.#prefix}/suites/${suiteId}/${what}`;
  }

  getCorp(corpId: string, options?: ReadOptions): Promise<StoredCorp | undefined> {
    return this.#read(this.corpParameter(corpId), StoredCorpSchema, options);
  }

  async listCorpIds(options: ReadOptions = {}): Promise<string[]> {
    // No trailing slash: AWS's own examples name a hierarchy as /a/b; names come back as /a/b/<corpid>.
    const path = `${this.#prefix}/corps`;
    const cached = this.#cache.get(`list:${path}`);
    if (cached && !options.forceFetch && this.#now() - cached.at < this.#maxAgeMs) return cached.value as string[];
    const ids: string[] = [];
    let nextToken: string | undefined;
    try {
      do {
        // Names only: values are decrypted on demand, one corp at a time.
        const page = await this.#client.send(
          new GetParametersByPathCommand({ Path: path, Recursive: false, WithDecryption: false, NextToken: nextToken }),
        );
        for (const parameter of page.Parameters ?? []) {
          const name = parameter.Name ?? '';
          if (name.startsWith(`${path}/`)) ids.push(name.slice(path.length + 1));
        }
        nextToken = page.NextToken;
      } while (nextToken);
    } catch (error) {
      throw new CredentialStoreError(`the corps under ${path} could not be listed (${kindOf(error)})`);
    }
    this.#cache.set(`list:${path}`, { value: ids, at: this.#now() });
    return ids;
  }

  async putCorp(corpId: string, entry: StoredCorp): Promise<void> {
    await this.#write(this.corpParameter(corpId), StoredCorpSchema.parse(entry));
    this.#cache.delete(`list:${this.#prefix}/corps`);
  }

  getSuite(suiteId: string, options?: ReadOptions): Promise<SuiteEntry | undefined> {
    return this.#read(this.suiteParameter(suiteId, 'secret'), SuiteEntrySchema, options);
  }

  getTicket(suiteId: string, options?: ReadOptions): Promise<SuiteTicket | undefined> {
    return this.#read(this.suiteParameter(suiteId, 'ticket'), SuiteTicketSchema, options);
  }

  putTicket(suiteId: string, ticket: SuiteTicket): Promise<void> {
    return this.#write(this.suiteParameter(suiteId, 'ticket'), SuiteTicketSchema.parse(ticket));
  }

  /** Remove a parameter (tests and off-boarding scripts; cancel_auth overwrites the corp's entry instead). */
  async delete(name: string): Promise<void> {
    try {
      await this.#client.send(new DeleteParameterCommand({ Name: name }));
    } catch (error) {
      if (kindOf(error) !== 'ParameterNotFound')
        throw new CredentialStoreError(`${name} could not be deleted (${kindOf(error)})`);
    }
    this.#cache.delete(name);
  }

  async #read<S extends z.ZodType>(
    name: string,
    schema: S,
    options: ReadOptions = {},
  ): Promise<z.output<S> | undefined> {
    const cached = this.#cache.get(name);
    if (cached && !options.forceFetch && this.#now() - cached.at < this.#maxAgeMs)
      return cached.value as z.output<S> | undefined;
    let text: string | undefined;
    try {
      const answer = await this.#client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      text = answer.Parameter?.Value;
    } catch (error) {
      if (kindOf(error) !== 'ParameterNotFound')
        throw new CredentialStoreError(`${name} could not be read (${kindOf(error)})`);
      text = undefined;
    }
    const value = text === undefined ? undefined : parseValue(name, text, schema);
    this.#cache.set(name, { value, at: this.#now() });
    return value;
  }

  async #write(name: string, value: unknown): Promise<void> {
    try {
      await this.#client.send(
        new PutParameterCommand({ Name: name, Value: JSON.stringify(value), Type: 'SecureString', Overwrite: true }),
      );
    } catch (error) {
      throw new CredentialStoreError(`${name} could not be written (${kindOf(error)})`);
    }
    this.#cache.set(name, { value, at: this.#now() });
  }
}

/** A stored JSON value checked against its schema; the error names the field, never the value. */
export function parseValue<S extends z.ZodType>(where: string, text: string, schema: S): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CredentialStoreError(`${where}: not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .map((issue) => `${issue.path.join('.') || '(value)'}: ${issue.message}`)
    .join('; ');
  throw new CredentialStoreError(`${where}: ${problems}`);
}

function kindOf(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
