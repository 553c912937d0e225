/**
 * The embedded database of `npm start`: one SQLite file in the data directory (`DATA_DIR`, default
 * `.data/`), through Node's built-in `node:sqlite` (Node ≥ 22, no native build). Tasks, the poll
 * queue, `Idempotency-Key` records and the call budget live in it, so a restart (or a crash) loses
 * nothing.
 *
 * - **Write-ahead log.** Every change is one SQLite transaction, committed to the WAL before the call
 *   returns: a process that is killed (SIGKILL, out of memory) loses no committed change. With
 *   `sync: 'full'` (`DATA_SYNC=full`) each commit is also fsynced, so a power cut loses none either
 *   (`normal`, the default, may lose the last commits on power loss, never the file's integrity).
 * - **One owner.** The file is opened in exclusive locking mode: a second process on the same data
 *   directory is refused at start-up instead of consuming the same queue. The operating system drops
 *   the lock when the owner dies, so a restart after a crash opens it at once.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';

/** The database file inside the data directory. */
export const DATABASE_FILE = 'wecom-zone-tasks.sqlite';

/** The data directory cannot be used: wrong Node version, unwritable, or owned by another process. */
export class DataDirError extends Error {
  override readonly name = 'DataDirError';
}

export type SyncMode = 'normal' | 'full';

export interface LocalDatabaseOptions {
  /** Created if missing. */
  dataDir: string;
  /** `full`: fsync every commit (power-loss safe); `normal` (default): crash safe, faster. */
  sync?: SyncMode;
}

/** Version of the schema below; bump it with a migration when the tables change. */
const SCHEMA_VERSION = 2;

/**
 * What each version changed, run on a database of an older version before `SCHEMA` (which creates
 * what is missing). 2: the call budget became sliding windows (a `total` and bucket `marks` per corp
 * and window, `lib/budget/port.ts`); the fixed-window counters of version 1 are dropped (they only
 * ever held the current minute and hour).
 */
const MIGRATIONS: Record<number, string> = {
  2: 'DROP TABLE IF EXISTS budget;',
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tasks (
  jobid TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  chain INTEGER NOT NULL,
  next_poll_at INTEGER NOT NULL,
  -- Set only while PENDING: the sweeper's sparse index, as on DynamoDB.
  pending_shard TEXT,
  -- Epoch seconds: the record is deleted after it (DynamoDB TTL).
  expires_at INTEGER NOT NULL,
  -- Every other field of the task record, as JSON.
  record TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tasks_pending_by_next_poll ON tasks (next_poll_at) WHERE pending_shard IS NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_by_expiry ON tasks (expires_at);

CREATE TABLE IF NOT EXISTS idempotency (
  idempotency_key TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  status TEXT NOT NULL,
  claimed_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  response TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_by_expiry ON idempotency (expires_at);

CREATE TABLE IF NOT EXISTS budget (
  counter_key TEXT PRIMARY KEY,
  -- Calls granted so far; the marks (bucket -> total before its first call, JSON); a WeCom block (epoch ms).
  total INTEGER NOT NULL,
  marks TEXT NOT NULL,
  blocked_until INTEGER,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS budget_by_expiry ON budget (expires_at);

CREATE TABLE IF NOT EXISTS queue_messages (
  message_id TEXT PRIMARY KEY,
  body TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  visible_at INTEGER NOT NULL,
  receive_count INTEGER NOT NULL,
  first_received_at INTEGER NOT NULL,
  receipt_handle TEXT UNIQUE,
  -- 1 while hidden by a receive (a consumer holds it), 0 once its visibility was changed.
  leased INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS queue_by_visible_at ON queue_messages (visible_at);
CREATE INDEX IF NOT EXISTS queue_by_sent_at ON queue_messages (sent_at);
CREATE INDEX IF NOT EXISTS queue_leased ON queue_messages (leased) WHERE leased = 1;

CREATE TABLE IF NOT EXISTS queue_dead_letters (
  message_id TEXT PRIMARY KEY,
  body TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  receive_count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_by_sent_at ON queue_dead_letters (sent_at);
`;

type SqliteModule = typeof import('node:sqlite');
let sqliteModule: SqliteModule | undefined;

/**
 * `node:sqlite`, loaded on first use. Node 22 flags the module experimental with a warning when it
 * loads; that one warning is expected (the API used here is stable across 22–24) and kept out of the
 * server's output, every other warning still prints.
 */
export function loadSqlite(): SqliteModule {
  if (sqliteModule) return sqliteModule;
  const emitWarning = process.emitWarning;
  process.emitWarning = function filtered(this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (/SQLite is an experimental feature/.test(text)) return;
    return (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    sqliteModule = createRequire(import.meta.url)('node:sqlite') as SqliteModule;
    return sqliteModule;
  } catch {
    throw new DataDirError(
      `the durable local store needs Node.js >= 22 (node:sqlite); this is ${process.version}. Use Node 22, or set DATA_DIR=:memory: to keep state in memory`,
    );
  } finally {
    process.emitWarning = emitWarning;
  }
}

export class LocalDatabase {
  readonly file: string;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  private constructor(file: string, db: DatabaseSync) {
    this.file = file;
    this.#db = db;
  }

  /**
   * Open (or create) the database in `dataDir`.
   *
   * @throws {DataDirError} on Node < 22, an unwritable directory, or a directory another process owns.
   */
  static open(options: LocalDatabaseOptions): LocalDatabase {
    const { DatabaseSync } = loadSqlite();
    const dir = resolve(options.dataDir);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw new DataDirError(
        `DATA_DIR ${options.dataDir}: cannot be created (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    const file = join(dir, DATABASE_FILE);
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(file, { timeout: 2000 });
    } catch (error) {
      throw new DataDirError(`DATA_DIR ${options.dataDir}: cannot open ${DATABASE_FILE} (${(error as Error).message})`);
    }
    try {
      // Exclusive before WAL: no shared-memory index, and the first write below takes the lock for good.
      db.exec('PRAGMA locking_mode = EXCLUSIVE');
      db.exec('PRAGMA journal_mode = WAL');
      db.exec(`PRAGMA synchronous = ${options.sync === 'full' ? 'FULL' : 'NORMAL'}`);
      db.exec('BEGIN IMMEDIATE');
      const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
      if (version > SCHEMA_VERSION) {
        db.exec('ROLLBACK');
        throw new DataDirError(
          `DATA_DIR ${options.dataDir}: ${DATABASE_FILE} was written by a newer version (schema ${version})`,
        );
      }
      // A new file reads version 0 and gets the schema as it is; an older one is migrated first.
      if (version > 0) for (let next = version + 1; next <= SCHEMA_VERSION; next++) db.exec(MIGRATIONS[next] ?? '');
      db.exec(SCHEMA);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      db.exec('COMMIT');
    } catch (error) {
      db.close();
      if (error instanceof DataDirError) throw error;
      const message = (error as Error).message;
      if (/locked|busy/i.test(message)) {
        throw new DataDirError(
          `DATA_DIR ${options.dataDir} is in use by another process (another npm start?): ${DATABASE_FILE} is locked`,
        );
      }
      throw new DataDirError(`DATA_DIR ${options.dataDir}: ${DATABASE_FILE} cannot be used (${message})`);
    }
    return new LocalDatabase(file, db);
  }

  /** A prepared statement, cached by its text. */
  statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  run(sql: string, parameters: Record<string, SQLInputValue> = {}): { changes: number } {
    const { changes } = this.statement(sql).run(parameters);
    return { changes: Number(changes) };
  }

  get<T>(sql: string, parameters: Record<string, SQLInputValue> = {}): T | undefined {
    return this.statement(sql).get(parameters) as T | undefined;
  }

  all<T>(sql: string, parameters: Record<string, SQLInputValue> = {}): T[] {
    return this.statement(sql).all(parameters) as T[];
  }

  /**
   * Run `work` in one write transaction: all of it is committed, or (when it throws) none of it.
   * Synchronous on purpose: nothing else of this process runs in between.
   */
  transaction<T>(work: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  /**
   * Delete the rows of `table` whose `expires_at` (epoch seconds) is at or before `nowSeconds`, as
   * DynamoDB's TTL does on AWS; 1000 per statement, so a large backlog never holds the database long.
   * Returns how many were deleted.
   */
  purgeExpired(table: 'tasks' | 'idempotency' | 'budget', key: string, nowSeconds: number): number {
    let deleted = 0;
    for (;;) {
      const { changes } = this.run(
        `DELETE FROM ${table} WHERE ${key} IN (SELECT ${key} FROM ${table} WHERE expires_at <= :now LIMIT 1000)`,
        { now: nowSeconds },
      );
      deleted += changes;
      if (changes < 1000) return deleted;
    }
  }

  get isOpen(): boolean {
    return this.#db.isOpen;
  }

  /** Checkpoint the write-ahead log into the file and release the lock. Idempotent. */
  close(): void {
    if (!this.#db.isOpen) return;
    this.#statements.clear();
    this.#db.close();
  }
}
