/**
 * Where the local stack keeps its state: the durable SQLite database in a data directory (what
 * `npm start` uses), or this process's memory (tests, `DATA_DIR=:memory:`). Both have the semantics
 * of the DynamoDB and SQS adapters (the port contract suites in `test/contract/` run on each).
 */

import { MemoryCallBudget } from '../budget/memoryBudget.js';
import type { BudgetWindow, CallBudget } from '../budget/port.js';
import { SqliteCallBudget } from '../budget/sqliteBudget.js';
import { EmbeddedQueue, type EmbeddedQueueOptions } from '../queue/embeddedQueue.js';
import { sqliteQueue } from '../queue/sqliteQueue.js';
import { LocalDatabase, type SyncMode } from '../shared/database.js';
import { MemoryIdempotencyStore } from '../tasks/memoryIdempotencyStore.js';
import { MemoryTaskStore } from '../tasks/memoryStore.js';
import type { IdempotencyStore, TaskStore } from '../tasks/port.js';
import { SqliteIdempotencyStore } from '../tasks/sqliteIdempotencyStore.js';
import { SqliteTaskStore } from '../tasks/sqliteStore.js';

/** State that expires, as DynamoDB TTL and SQS retention make it expire on AWS. */
export interface Expiring {
  /** Delete what has expired by `now` (epoch ms); returns how many records or messages. */
  purgeExpired(now: number): Promise<number>;
}

export function isExpiring(value: unknown): value is Expiring {
  return typeof (value as Partial<Expiring> | undefined)?.purgeExpired === 'function';
}

export interface LocalStateOptions {
  /** A directory: durable state in its SQLite file. Unset: in memory, gone when the process ends. */
  dataDir?: string;
  sync?: SyncMode;
  queue?: EmbeddedQueueOptions;
  /** The call budget's windows; none: no budget. */
  budgetWindows: readonly BudgetWindow[];
  now?: () => number;
}

export interface LocalState {
  /** The database file, or `memory`. */
  location: string;
  durable: boolean;
  store: TaskStore & Expiring;
  idempotency: IdempotencyStore & Expiring;
  queue: EmbeddedQueue;
  /** The durable budget expires its counters; the memory one prunes ended windows itself. */
  budget: CallBudget | undefined;
  /** Poll messages a stopped process had received, made visible again at start-up (durable state only). */
  recoveredMessages: number;
  /** Release the database (a no-op in memory). */
  close(): void;
}

/**
 * @throws {DataDirError} when the data directory cannot be used (see `LocalDatabase.open`).
 * @example
 * const state = openLocalState({ dataDir: '.data', budgetWindows: [] });
 */
export function openLocalState(options: LocalStateOptions): LocalState {
  if (options.dataDir === undefined) {
    return {
      location: 'memory',
      durable: false,
      store: new MemoryTaskStore(),
      idempotency: new MemoryIdempotencyStore(),
      queue: new EmbeddedQueue(options.queue),
      budget: options.budgetWindows.length > 0 ? new MemoryCallBudget(options.budgetWindows) : undefined,
      recoveredMessages: 0,
      close: () => undefined,
    };
  }
  const db = LocalDatabase.open({ dataDir: options.dataDir, sync: options.sync });
  const { queue, storage } = sqliteQueue(db, options.queue);
  return {
    location: db.file,
    durable: true,
    store: new SqliteTaskStore(db),
    idempotency: new SqliteIdempotencyStore(db),
    queue,
    budget: options.budgetWindows.length > 0 ? new SqliteCallBudget(db, options.budgetWindows) : undefined,
    recoveredMessages: storage.releaseLeased((options.now ?? Date.now)()),
    close: () => db.close(),
  };
}
