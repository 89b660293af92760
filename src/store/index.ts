// The store: one SQLite file holding jobs, their output, the audit trail and the certificate
// registry. openStore() is the only way in; everything else hangs off the Store it returns.
import type Database from 'better-sqlite3';
import { JobctlError } from '../rpc/errors.ts';
import { integer } from '../rpc/validate.ts';
import schemaSql from '../../schema.sql';
import { createAuditLog, type AuditLog } from './audit.ts';
import { createCertRegistry, type CertRegistry } from './certs.ts';
import { HeldCommits } from './commit-gate.ts';
import { startCheckpointer, type CheckpointOptions, type CheckpointStatus, type WalCheckpointer } from './checkpointer.ts';
import { openDatabase } from './database.ts';
import { createJobRepository, type JobRepository } from './jobs.ts';
import { createLogStore } from './logs.ts';
import type { LogStore } from './log-types.ts';
import { migrate, parseMigrations } from './migrate.ts';
import { prepareRetention, runRetention, type RetentionPolicy, type RetentionResult } from './retention.ts';
import type { VacuumContext } from './vacuum-steps.ts';

export type { AuditEntry, AuditEvent, AuditLog } from './audit.ts';
export type { CertRecord, CertRegistry } from './certs.ts';
export type { CheckpointMode, CheckpointOptions, CheckpointStatus } from './checkpointer.ts';
export type { JobQuery, JobRepository, JobResult, JobRow, JobStart, NewJob } from './jobs.ts';
export type { LogChunk, LogFollowQuery, LogItem, LogReadQuery, LogStore, LogTail, LogTailQuery, LogWriter, TailStart } from './log-types.ts';
export { tailPart } from './log-tail.ts';
export { TurnBudget } from './turn-budget.ts';
export type { Migration } from './migrate.ts';
export { migrate, parseMigrations } from './migrate.ts';
export { COMMIT_INTERVAL_MS } from './log-writer.ts';
export type { RetentionPolicy, RetentionResult } from './retention.ts';

/** The migrations of schema.sql, parsed once. */
export const MIGRATIONS = parseMigrations(schemaSql);

/** The schema version this jobctl writes (the last migration's number). */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/** Default per-job log cap: 256 MiB. */
export const DEFAULT_LOG_CAP_BYTES = 256 * 1024 * 1024;
/** Default largest chunk: 256 KiB. */
export const DEFAULT_MAX_CHUNK_BYTES = 256 * 1024;
/** Largest chunk allowed: SQLite handles bigger blobs, but a follower page must stay small. */
export const MAX_CHUNK_BYTES_LIMIT = 16 * 1024 * 1024;

/** Store settings. */
export interface StoreOptions {
  /** Output kept per job; the oldest is removed beyond it (default 256 MiB). */
  logCapBytes?: number;
  /** Largest log chunk (default 256 KiB; never above logCapBytes). */
  maxChunkBytes?: number;
  /** Told about every failed log commit (the batch was dropped and counted); for the daemon's log. */
  onLogWriteError?: (jobId: number, err: unknown) => void;
  /** Told what the daemon's log should say, such as checkpoints falling back to the event loop (default: a process warning). */
  onWarning?: (message: string) => void;
  /** Tuning of the WAL checkpoint worker (tests, benchmarks); the defaults suit the daemon. */
  checkpoints?: CheckpointOptions;
}

/** An open store. */
export interface Store {
  readonly db: Database.Database;
  readonly jobs: JobRepository;
  readonly logs: LogStore;
  readonly audit: AuditLog;
  readonly certs: CertRegistry;
  /** Where WAL checkpoints run and how many there were. */
  readonly checkpoints: CheckpointStatus;
  /** Flushes and closes open log writers, ends followers, closes the database. Idempotent. */
  close(): void;
}


/** Per open store: the retention statements (prepared on first use) and how its vacuum steps reach the checkpointer. */
const retentionOf = new WeakMap<Database.Database, { sql: ReturnType<typeof prepareRetention> | undefined; vacuum: VacuumContext }>();

/**
 * Opens (creating if needed, mode 0600) and migrates the database file. A file from a newer jobctl
 * is refused with CONFLICT and left untouched.
 */
export function openStore(file: string, options: StoreOptions = {}): Store {
  const logCapBytes = integer(1, Number.MAX_SAFE_INTEGER, ' bytes')(options.logCapBytes ?? DEFAULT_LOG_CAP_BYTES, 'logCapBytes');
  const chunkBytes = integer(1, MAX_CHUNK_BYTES_LIMIT, ' bytes')(options.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES, 'maxChunkBytes');
  // A chunk never exceeds the cap, so the newest chunk always fits and the cap always holds.
  const maxChunkBytes = Math.min(logCapBytes, chunkBytes);
  const db = openDatabase(file, SCHEMA_VERSION);
  try {
    migrate(db, MIGRATIONS, file);
  } catch (err) {
    db.close();
    throw err;
  }
  const gate = new HeldCommits();
  const logs = createLogStore(
    db,
    { capBytes: logCapBytes, maxChunkBytes, maxPendingBytes: Math.max(4 * 1024 * 1024, 4 * maxChunkBytes) },
    options.onLogWriteError,
    { afterCommit: (bytes) => checkpointer.afterCommit(bytes), gate },
  );
  const jobs = createJobRepository(db);
  const audit = createAuditLog(db);
  const certs = createCertRegistry(db);
  // Last: nothing that could still throw leaves a worker thread behind.
  const warn = options.onWarning ?? ((message: string) => process.emitWarning(message, { code: 'JOBCTL_STORE' }));
  let checkpointer: WalCheckpointer;
  try {
    checkpointer = startCheckpointer(db, file, options.checkpoints ?? {}, gate, warn);
  } catch (err) {
    // Bad tuning options (INVALID_ARGUMENT): nothing may stay open.
    db.close();
    throw err;
  }
  retentionOf.set(db, { sql: undefined, vacuum: { afterCommit: (bytes) => checkpointer.afterCommit(bytes), gate } });
  const store: Store = {
    db,
    jobs,
    logs,
    audit,
    certs,
    checkpoints: checkpointer,
    close() {
      if (!db.open) return;
      logs.closeAll();
      // Before the database: its connection, then the last one, takes the final checkpoint.
      checkpointer.close();
      db.close();
    },
  };
  return store;
}

/**
 * Deletes finished jobs (and their output) beyond the policy and shrinks the file in bounded steps
 * spread over turns of the event loop; jobs whose output is still being written are kept. Resolves
 * to how many jobs went and how many bytes the database file lost.
 */
export async function applyRetention(store: Store, policy: RetentionPolicy): Promise<RetentionResult> {
  const own = retentionOf.get(store.db);
  if (own === undefined) throw new JobctlError('UNAVAILABLE', 'retention needs a store opened by openStore()');
  own.sql ??= prepareRetention(store.db);
  return runRetention(store.db, own.sql, (id) => store.logs.isLive(id), own.vacuum, policy);
}
