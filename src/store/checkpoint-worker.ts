// The checkpoint worker thread: its own SQLite connection to the store's file, copying the WAL back
// into the database (and fsyncing) while the daemon's event loop goes on committing.
//
// It runs from source text (`new Worker(text, { eval: true })`): inside the single executable there is
// no file to start a worker from and no better-sqlite3 JavaScript to require — only the addon, written
// to a file by native-binding.ts. So the worker drives the addon directly, with the few calls
// better-sqlite3's lib/database.js and lib/methods/pragma.js make (12.x). The text is a plain string,
// not a function's toString(): the bundler rewrites functions (the single executable's minified,
// keep-names build calls a helper of the bundle inside them), never strings, so tests run the very
// code the binary runs.

/** What the worker is started with (workerData). */
export interface CheckpointWorkerData {
  /** The database file (it must exist: the store created it). */
  file: string;
  /** better-sqlite3's compiled addon, the file the store's own connection loaded. */
  addonFile: string;
  /** How long the worker's statements wait for a lock held by the store's connection. */
  busyTimeoutMs: number;
  /** Pause between passes while the WAL keeps growing. */
  activeIntervalMs: number;
  /** Pause between passes once nothing new arrived (the worker mostly sleeps). */
  idleIntervalMs: number;
  /**
   * Three Int32 the store's thread waits on (Atomics.wait: no event loop needed): at CLOSED 1 once the
   * connection is closed; at STARTED and DONE the passes begun and ended.
   */
  shared: SharedArrayBuffer;
}

/** Indexes into CheckpointWorkerData.shared (an Int32Array). */
export const SHARED = { CLOSED: 0, STARTED: 1, DONE: 2, LENGTH: 3 } as const;

/** Messages to the worker: run a pass now, or close the connection and end. */
export type ToCheckpointWorker = { type: 'checkpoint' } | { type: 'close' };

/** The result of one `PRAGMA wal_checkpoint(MODE)`: SQLite's busy flag and frame counts. */
export interface CheckpointResult {
  mode: 'PASSIVE' | 'TRUNCATE';
  /** 1 when the mode could not finish (a reader or the writer was in the way), else 0. */
  busy: number;
  /** Frames in the WAL. */
  log: number;
  /** Frames of it now in the database file. */
  checkpointed: number;
}

/** Messages from the worker. */
export type FromCheckpointWorker =
  | { type: 'ready'; pageSize: number }
  | { type: 'pass'; requested: boolean; pass: number; results: CheckpointResult[]; ms: number }
  | { type: 'failed'; message: string; code: string | undefined; pass?: number };

/**
 * The worker's source text, for `new Worker(text, { eval: true, workerData })` (workerData is a
 * CheckpointWorkerData; messages as above). Passes run when the store asks (it wrote a few MiB, or
 * holds its commits so that the WAL can start over) and on a timer: every activeIntervalMs while the
 * WAL grows (commits the store does not count, like job rows), every idleIntervalMs once nothing
 * arrives, and not at all once the WAL is truncated to nothing: then the next write to it (inotify)
 * starts the timer again. A pass is PASSIVE: it never blocks the store's connection. A timer pass that finds nothing
 * new since the last one also TRUNCATEs, so that an idle WAL gives its disk space back. Errors of a
 * pass (a full disk) are reported and the pass is tried again later; an error before 'ready' (no
 * addon, no file) is reported and the worker ends.
 */
export const CHECKPOINT_WORKER_SOURCE = `'use strict';
const { parentPort: port, workerData: data } = require('node:worker_threads');
const { statSync, watch } = require('node:fs');
const CLOSED = ${SHARED.CLOSED}, STARTED = ${SHARED.STARTED}, DONE = ${SHARED.DONE};
const shared = new Int32Array(data.shared);
let db = null;
let timer;
let watcher = null;
let lastLog = -1;
let pageSize = 0;

function setClosed() {
  Atomics.store(shared, CLOSED, 1);
  Atomics.notify(shared, CLOSED);
}
// Also when the thread dies of an error: the store's close() must not wait for a dead worker.
process.on('exit', setClosed);

// better-sqlite3's error class as its lib/sqlite-error.js makes it: the addon throws these.
function SqliteError(message, code) {
  const err = new Error(message);
  err.name = 'SqliteError';
  err.code = code;
  return err;
}

// The addon's statements take the JavaScript database object they belong to; nothing reads it here.
const owner = {};
function pragma(sql) {
  return db.prepare('PRAGMA ' + sql, owner, true).get();
}

function checkpoint(mode) {
  const row = pragma('wal_checkpoint(' + mode + ')');
  return { mode, busy: row.busy, log: row.log, checkpointed: row.checkpointed };
}

function fail(err, pass) {
  port.postMessage({ type: 'failed', message: String(err && err.message || err), code: err && typeof err.code === 'string' ? err.code : undefined, pass });
}

function passEnded() {
  Atomics.add(shared, DONE, 1);
  Atomics.notify(shared, DONE);
}

function stopWatching() {
  if (watcher !== null) watcher.close();
  watcher = null;
}

function walBytes() {
  const st = statSync(data.file + '-wal', { throwIfNoEntry: false });
  return st ? st.size : 0;
}

// The WAL is empty and copied: rather than a timer, wait for the next write to it (inotify), so an
// idle daemon does no work at all. A write between the truncate and the watch is caught by the size
// check after it; a watch that cannot be set falls back to the idle timer.
function sleepUntilWritten() {
  const wake = (delay) => {
    stopWatching();
    clearTimeout(timer);
    timer = setTimeout(pass, delay, false);
  };
  try {
    watcher = watch(data.file + '-wal', () => wake(data.activeIntervalMs));
    watcher.on('error', () => wake(data.idleIntervalMs));
    if (walBytes() > 0) wake(data.activeIntervalMs);
  } catch {
    wake(data.idleIntervalMs);
  }
}

function pass(requested) {
  clearTimeout(timer);
  stopWatching();
  if (db === null) return;
  const t0 = performance.now();
  const results = [];
  // Passes are numbered from 1 as they start: the store tells by the number whether a pass began
  // after it held its commits.
  const number = Atomics.add(shared, STARTED, 1) + 1;
  try {
    let r = checkpoint('PASSIVE');
    results.push(r);
    if (!requested && r.log > 0 && r.checkpointed === r.log && r.log === lastLog) {
      r = checkpoint('TRUNCATE');
      results.push(r);
    }
    const grew = r.log !== lastLog;
    lastLog = r.log;
    passEnded();
    port.postMessage({ type: 'pass', requested, pass: number, results, ms: performance.now() - t0 });
    if (r.busy === 0 && r.log === 0 && walBytes() === 0) sleepUntilWritten();
    else timer = setTimeout(pass, grew ? data.activeIntervalMs : data.idleIntervalMs, false);
  } catch (err) {
    passEnded();
    fail(err, number);
    timer = setTimeout(pass, data.idleIntervalMs, false);
  }
}

function close() {
  clearTimeout(timer);
  stopWatching();
  try {
    if (db !== null) db.close();
  } catch {
    // Best effort: the store's own connection keeps the data safe.
  }
  db = null;
  port.close();
  setClosed();
}

port.on('message', (m) => (m.type === 'close' ? close() : pass(true)));

try {
  const module = { exports: {} };
  process.dlopen(module, data.addonFile);
  const addon = module.exports;
  if (!addon.isInitialized) {
    addon.setErrorConstructor(SqliteError);
    addon.isInitialized = true;
  }
  // (file, name, in memory, read-only, must exist, busy timeout, verbose, buffer)
  db = new addon.Database(data.file, data.file, false, false, true, data.busyTimeoutMs, null, null);
  // A checkpoint syncs as the checkpointing connection says: NORMAL syncs the WAL before the copy
  // and the database after it, as the store's own connection would. Never OFF.
  pragma('synchronous = NORMAL');
  pageSize = pragma('page_size').page_size;
  if (!(pageSize > 0)) throw new Error('cannot read the page size of ' + data.file);
} catch (err) {
  fail(err);
  close();
}
if (db !== null) {
  port.postMessage({ type: 'ready', pageSize });
  timer = setTimeout(pass, data.activeIntervalMs, false);
}
`;
