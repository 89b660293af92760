// Opening the SQLite file: private file mode, then the connection settings every part of the store
// relies on. The order matters and is explained next to each step.
import Database from 'better-sqlite3';
import { closeSync, fchmodSync, openSync } from 'node:fs';
import { JobctlError } from '../rpc/errors.ts';
import { assertNotNewer } from './migrate.ts';
import { nativeBindingOption } from './native-binding.ts';

/** How long a statement waits for another connection's lock before failing with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

/** After a checkpoint the WAL file is cut back to this size, so one big write does not keep it big. */
export const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** Page size of a new database file (existing files keep theirs). */
export const PAGE_SIZE_BYTES = 65536;

/**
 * WAL pages between SQLite's own checkpoints, inside commits: 4 MiB at 64 KiB pages, as SQLite's
 * default 1000 was at 4 KiB. Only until the checkpoint worker runs, and again if it dies
 * (checkpointer.ts); a store opened without the worker keeps it.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 64;

/**
 * Opens (creating if needed) the database file and applies the connection settings. Refuses a file
 * from a newer schema (`knownVersion`) before writing anything to it.
 */
export function openDatabase(file: string, knownVersion: number): Database.Database {
  createPrivate(file);
  let db: Database.Database;
  try {
    // Inside the single executable the addon comes from an embedded asset (see native-binding.ts).
    db = new Database(file, nativeBindingOption());
  } catch (err) {
    throw new JobctlError('INTERNAL', `cannot open database ${file}: ${(err as Error).message}`, { cause: err, details: { file } });
  }
  try {
    // The first read is where "file is not a database" shows up.
    assertNotNewer(db, knownVersion, file);
    // 64 KiB pages (SQLite's largest), chosen like auto_vacuum before the first table exists; a no-op
    // on an existing file. Log output is most of what is stored: with 4 KiB pages every 256 KiB chunk
    // is 64 overflow pages, each its own WAL frame write and checkpoint copy: 16× the system calls
    // per byte (docs/BENCHMARKS.md, "Against pm2, task-spooler, nq").
    db.pragma(`page_size = ${PAGE_SIZE_BYTES}`);
    // auto_vacuum must be chosen before the first table exists; on an existing database without it
    // this is a no-op. INCREMENTAL lets retention hand freed pages back to the file system.
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a crash of the process loses nothing committed; only a power cut may lose
    // the last transactions, never corrupting the file.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
    // Checkpoints done by SQLite copy the WAL into the database file and fsync both inside a commit,
    // on the event loop: SQLite's default 1000 pages would be 64 MiB at 64 KiB pages, a stall of
    // ≈ 0.1–0.3 s under a flood (follow-latency p99). 4 MiB of WAL, as before the page size changed,
    // while this connection checkpoints itself; the store hands this to a worker (checkpointer.ts).
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  } catch (err) {
    db.close();
    if (err instanceof JobctlError) throw err;
    throw new JobctlError('INTERNAL', `cannot use database ${file}: ${(err as Error).message}`, { cause: err, details: { file } });
  }
  return db;
}

/**
 * Creates the file with mode 0600 if it does not exist. SQLite gives its -wal and -shm files the
 * database file's mode, so they stay private too. (fchmod: a strict umask such as 0277 would
 * otherwise leave the owner unable to write.)
 */
function createPrivate(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw new JobctlError('INTERNAL', `cannot create database ${file}: ${(err as Error).message}`, { cause: err, details: { file } });
  }
  try {
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}
