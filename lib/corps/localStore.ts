/**
 * The local adapter of {@link CorpCredentialStore} (`npm start`): the corps and suites an operator
 * lists in a credentials file (`WECOM_CORPS_FILE`, shape in examples/corps.json and
 * docs/many-corps.md), plus a writable store for what WeCom's callbacks bring (suite tickets,
 * permanent codes, cancellations): `<DATA_DIR>/corp-credentials.json`, written atomically with mode
 * 0600, or memory. What the writable store holds takes precedence over the file (a corp listed in the
 * file that cancels its authorisation stays cancelled). File errors name the file and the field, never
 * a value.
 */
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import {
  type CorpCredentialStore,
  CorpEntrySchema,
  CorpIdSchema,
  CredentialStoreError,
  type StoredCorp,
  StoredCorpSchema,
  type SuiteEntry,
  SuiteEntrySchema,
  SuiteIdSchema,
  type SuiteTicket,
  SuiteTicketSchema,
} from './port.js';

/** The credentials file: corps by corp id, suites by suite id. */
export const CorpsFileSchema = z.strictObject({
  corps: z.record(CorpIdSchema, CorpEntrySchema).default({}),
  suites: z.record(SuiteIdSchema, SuiteEntrySchema).default({}),
});
export type CorpsFile = z.output<typeof CorpsFileSchema>;

const WritableSchema = z.object({
  corps: z.record(z.string(), StoredCorpSchema).default({}),
  tickets: z.record(z.string(), SuiteTicketSchema).default({}),
});
type Writable = z.output<typeof WritableSchema>;

/** The writable store's file name under DATA_DIR. */
export const LOCAL_CORP_STORE_FILE = 'corp-credentials.json';

/**
 * Read and check a credentials file.
 *
 * @throws {CredentialStoreError} unreadable, not JSON, readable by others than its owner, or a field
 *   wrong (named by its path, e.g. `corps.ww1.secret`)
 */
export function readCorpsFile(path: string): CorpsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CredentialStoreError(`${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // It holds secrets: like an SSH key, refuse a file others may read.
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) {
    throw new CredentialStoreError(
      `${path}: holds secrets, so it must be readable by its owner only (chmod 600 ${path})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CredentialStoreError(`${path}: not valid JSON`);
  }
  const parsed = CorpsFileSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`);
  throw new CredentialStoreError(`${path}: ${problems.join('; ')}`);
}

export interface LocalCorpStoreOptions {
  /** What the credentials file says (see {@link readCorpsFile}); `location` names it. */
  file: CorpsFile;
  location?: string;
  /** Keep what callbacks bring in `<dataDir>/corp-credentials.json` (0600); unset: in memory. */
  dataDir?: string;
}

export class LocalCorpStore implements CorpCredentialStore {
  readonly location: string;
  readonly #file: CorpsFile;
  readonly #path?: string;
  #writable: Writable;

  constructor(options: LocalCorpStoreOptions) {
    this.#file = options.file;
    this.location = options.location ?? 'memory';
    this.#path = options.dataDir === undefined ? undefined : join(options.dataDir, LOCAL_CORP_STORE_FILE);
    this.#writable = this.#load();
  }

  async getCorp(corpId: string): Promise<StoredCorp | undefined> {
    return this.#writable.corps[corpId] ?? this.#file.corps[corpId];
  }

  async listCorpIds(): Promise<string[]> {
    return [...new Set([...Object.keys(this.#file.corps), ...Object.keys(this.#writable.corps)])];
  }

  async putCorp(corpId: string, entry: StoredCorp): Promise<void> {
    this.#writable.corps[corpId] = StoredCorpSchema.parse(entry);
    this.#save();
  }

  async getSuite(suiteId: string): Promise<SuiteEntry | undefined> {
    return this.#file.suites[suiteId];
  }

  async getTicket(suiteId: string): Promise<SuiteTicket | undefined> {
    return this.#writable.tickets[suiteId];
  }

  async putTicket(suiteId: string, ticket: SuiteTicket): Promise<void> {
    this.#writable.tickets[suiteId] = SuiteTicketSchema.parse(ticket);
    this.#save();
  }

  #load(): Writable {
    if (this.#path === undefined || !existsSync(this.#path)) return WritableSchema.parse({});
    try {
      return WritableSchema.parse(JSON.parse(readFileSync(this.#path, 'utf8')));
    } catch (error) {
      throw new CredentialStoreError(
        `${this.#path}: cannot be read as the corp store (${error instanceof z.ZodError ? 'a field is wrong' : ((error as NodeJS.ErrnoException).code ?? (error as Error).name)})`,
      );
    }
  }

  /** Atomically, owner-only: a crash leaves the old file or the new, never half of one. */
  #save(): void {
    if (this.#path === undefined) return;
    const temporary = `${this.#path}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, JSON.stringify(this.#writable), { mode: 0o600 });
      chmodSync(temporary, 0o600);
      renameSync(temporary, this.#path);
    } catch (error) {
      throw new CredentialStoreError(
        `${this.#path}: cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).name})`,
      );
    }
  }
}

/** `npm start`'s corp store: the credentials file at `path`, and what callbacks bring under `dataDir` (memory if unset). */
export function openLocalCorpStore(path: string, dataDir?: string): LocalCorpStore {
  return new LocalCorpStore({ file: readCorpsFile(path), location: `file:${path}`, dataDir });
}
