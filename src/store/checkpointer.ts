// WAL checkpoints off the event loop. A checkpoint copies the WAL back into the database file and
// fsyncs both; done by SQLite inside a commit (wal_autocheckpoint) it stalled the daemon's event loop
// and was the largest cost of storing output (docs/BENCHMARKS.md, "Ingest"). Here a worker thread with
// its own connection does it (PASSIVE: never in the way of the store's connection) while the store
// goes on committing. To start the WAL over, SQLite needs a commit that finds every frame copied: every
// few tens of MiB of output, the streaming log writers' commits are held for one more pass
// (commit-gate.ts; a few lines of a quiet job still go through). Should the WAL still grow past a
// limit, the store's connection checkpoints itself, blocking (and so slowing the producers down); if
// the worker cannot start or dies, SQLite checkpoints inside commits as before.
import type Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { integer } from '../rpc/validate.ts';
import type { HeldCommits } from './commit-gate.ts';
import { CHECKPOINT_WORKER_SOURCE, SHARED, type CheckpointWorkerData, type FromCheckpointWorker, type ToCheckpointWorker } from './checkpoint-worker.ts';
import { BUSY_TIMEOUT_MS, WAL_AUTOCHECKPOINT_PAGES } from './database.ts';
import { nativeAddonFile } from './native-binding.ts';

const MIB = 1024 * 1024;

/** Tuning of the checkpointer; the defaults are the ones the ingest benchmark chose. */
export interface CheckpointOptions {
  /** Log output committed between requests to the worker (default 2 MiB; a pass asked for while one runs waits for it). */
  requestEveryBytes?: number;
  /**
   * Log output committed since the WAL last started over at which the streaming log writers'
   * commits are held for a pass so that it starts over again (default 32 MiB).
   */
  restartAtBytes?: number;
  /**
   * WAL file size beyond which the store's own connection checkpoints (TRUNCATE), blocking its
   * commits: the worker fell behind (default 128 MiB).
   */
  limitBytes?: number;
  /** Pause between the worker's own passes while the WAL grows (default 100 ms). */
  activeIntervalMs?: number;
  /** Pause between the worker's own passes while nothing is written (default 2 s). */
  idleIntervalMs?: number;
  /** false: no worker; SQLite checkpoints inside commits, on the event loop (the fallback). */
  worker?: boolean;
  /** The addon file the worker loads (default: the one the store's connection loaded). */
  addonFile?: string;
}

/** Where checkpoints run now. */
export type CheckpointMode = 'starting' | 'worker' | 'in-thread' | 'closed';

/** What the store tells about its checkpoints (diagnostics and tests). */
export interface CheckpointStatus {
  /**
   * 'starting': the worker is being started (SQLite still checkpoints inside commits); 'worker';
   * 'in-thread': the fallback, SQLite checkpoints inside commits; 'closed'.
   */
  readonly mode: CheckpointMode;
  /** Passes the worker completed. */
  readonly passes: number;
  /** Passes run with the log writers' commits held, so that the WAL could start over. */
  readonly holds: number;
  /** Extra passes within a hold, for the frames of small commits that went through it. */
  readonly repeats: number;
  /** Small commits (a job that is not streaming) that went through a hold instead of waiting. */
  readonly passedHolds: number;
  /** Passes that failed (a full disk, an I/O error); the worker tries again later. */
  readonly failures: number;
  /** Checkpoints the store's own connection ran because the WAL file went over the limit. */
  readonly forced: number;
  /** Times a log writer's queue outgrew a hold and it paused its producer (the job's pipe) until the opening. */
  readonly pauses: number;
  /** Times a producer went on regardless and its writer waited for the pass, blocking; and for how long in all (ms). */
  readonly waits: number;
  readonly waitedMs: number;
}

/** The store's side of the checkpointer. */
export interface WalCheckpointer extends CheckpointStatus {
  /** After each commit of log output, with its size: asks the worker for a pass every few MiB. */
  afterCommit(bytes: number): void;
  /** Stops the worker (waiting for a pass under way to end) before the database closes. Idempotent. */
  close(): void;
}

/** How long close() waits for the worker to finish its pass and close its connection. */
const CLOSE_WAIT_MS = 10_000;

/** The longest a forced checkpoint waits for another connection's checkpoint to let it run. */
const FORCE_WAIT_MS = 2000;

/** The longest the log writers' commits are held for the pass that lets the WAL start over. */
const MAX_HOLD_MS = 250;

/**
 * Starts the checkpoint worker for an open store database (`file` is its path); `gate` is the log
 * writers' commit gate. `warn` is told once when checkpoints fall back to the event loop.
 */
export function startCheckpointer(
  db: Database.Database,
  file: string,
  options: CheckpointOptions,
  gate: HeldCommits,
  warn: (message: string) => void,
): WalCheckpointer {
  const bytes = integer(1, Number.MAX_SAFE_INTEGER, ' bytes');
  const ms = integer(1, 2 ** 31 - 1, ' ms');
  const requestEveryBytes = bytes(options.requestEveryBytes ?? 2 * MIB, 'checkpoints.requestEveryBytes');
  const restartAtBytes = bytes(options.restartAtBytes ?? 32 * MIB, 'checkpoints.restartAtBytes');
  const limitBytes = bytes(options.limitBytes ?? 128 * MIB, 'checkpoints.limitBytes');
  const activeIntervalMs = ms(options.activeIntervalMs ?? 100, 'checkpoints.activeIntervalMs');
  const idleIntervalMs = ms(options.idleIntervalMs ?? 2000, 'checkpoints.idleIntervalMs');
  const status = { mode: 'starting' as CheckpointMode, passes: 0, holds: 0, repeats: 0, failures: 0, forced: 0 };
  let worker: Worker | null = null;
  let sinceRequest = 0;
  let inFlight = false;
  /** Streaming commits are held until a pass numbered above holdAfter has ended. */
  let holding = false;
  let holdAfter = 0;
  /** Log output committed since the last hold began (the WAL's content since it last started over, roughly). */
  let sinceRestart = 0;
  let again = false;
  let startFailure: string | null = null;
  let pageSize = 0;
  const shared = new Int32Array(new SharedArrayBuffer(SHARED.LENGTH * 4));
  /** Never notified: Atomics.wait on it is a plain blocking pause. */
  const pause = new Int32Array(new SharedArrayBuffer(4));

  /** Checkpoints go back inside commits (as before there was a worker); said once. */
  const fallBack = (reason: string): void => {
    if (status.mode === 'in-thread' || status.mode === 'closed') return;
    status.mode = 'in-thread';
    gate.open();
    const w = worker;
    worker = null;
    if (w !== null) void w.terminate().catch(() => undefined);
    try {
      if (db.open) db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    } catch {
      // The connection is failing too; its next commit will say so.
    }
    try {
      warn(`WAL checkpoints run on the event loop from now on (slower ingest): ${reason}`);
    } catch {
      // A faulty hook must not break the store.
    }
  };

  const request = (): void => {
    if (worker === null || status.mode !== 'worker') return;
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    worker.postMessage({ type: 'checkpoint' } satisfies ToCheckpointWorker);
  };

  /**
   * Blocks until a pass begun after now has ended, or ms have passed. Passes run one at a time: the
   * one after the `started`th began after now.
   */
  const passAfter = (started: number) => (ms: number): void => {
    const end = performance.now() + ms;
    for (;;) {
      const done = Atomics.load(shared, SHARED.DONE);
      const left = end - performance.now();
      if (done > started || left <= 0 || worker === null) return;
      Atomics.wait(shared, SHARED.DONE, done, left);
    }
  };

  /**
   * One TRUNCATE by the store's connection (a RESTART that also empties the file); false when
   * another connection's checkpoint was in the way. Not RESTART: the limit is checked against the
   * file's size, which a restart does not shrink, so every later check would force again — a
   * blocking checkpoint on the event loop every few MiB for the rest of the flood.
   */
  const restart = (): boolean => (db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>)[0]?.busy === 0;

  /**
   * The WAL is over the limit: the store's connection copies it all itself, now. SQLite gives up at
   * once (busy, no busy handler) when another connection holds the checkpoint lock — mostly the
   * worker in the middle of a pass, which a slow disk makes long: then this waits for that pass to
   * end and tries again, for at most FORCE_WAIT_MS. A forced checkpoint that silently did nothing let
   * the WAL grow past the limit under load (52.5 MiB against a 16 MiB limit, seen in CI).
   */
  const force = (): void => {
    status.forced++;
    const deadline = performance.now() + FORCE_WAIT_MS;
    try {
      while (!restart()) {
        const left = deadline - performance.now();
        if (left <= 0) return;
        // The pass under way (if the worker's) ends: DONE reaches today's STARTED. Someone else's
        // checkpoint (a tool on the file) gets short pauses instead.
        const started = Atomics.load(shared, SHARED.STARTED);
        if (Atomics.load(shared, SHARED.DONE) < started) passAfter(started - 1)(left);
        else Atomics.wait(pause, 0, 0, Math.min(5, left));
      }
    } catch {
      // A full disk: the next commit fails and is counted; the worker tries again too.
    }
  };

  /** Runs the pass asked for while another was under way, once none is. */
  const requestAsked = (): void => {
    if (!again || inFlight) return;
    again = false;
    request();
  };

  /**
   * Holds the log writers' streaming commits until a pass that begins after now has ended: the first
   * commit after it then starts the WAL over from its beginning.
   */
  const startHold = (): void => {
    status.holds++;
    holding = true;
    sinceRestart = 0;
    holdAfter = Atomics.load(shared, SHARED.STARTED);
    gate.hold(MAX_HOLD_MS, passAfter(holdAfter));
    request();
  };

  const onMessage = (m: FromCheckpointWorker): void => {
    if (status.mode === 'closed' || status.mode === 'in-thread') return;
    if (m.type === 'ready') {
      status.mode = 'worker';
      pageSize = m.pageSize;
      // From here on only the worker checkpoints (and force() above); until now SQLite did.
      db.pragma('wal_autocheckpoint = 0');
      return;
    }
    if (m.type === 'failed') {
      status.failures++;
      // Before 'ready' the worker ends after this; its 'exit' starts the fallback with this reason.
      if (status.mode === 'starting') startFailure = `${m.message}${m.code ? ` (${m.code})` : ''}`;
    } else status.passes++;
    if (m.type === 'failed' || m.requested) inFlight = false;
    // A pass that began after the commits were held ends the hold (one that was under way at the
    // time does not: frames committed during it may be left).
    if (holding && m.pass !== undefined && m.pass > holdAfter) {
      // Small commits went through during the pass: their frames are not copied yet, and the WAL
      // cannot start over before they are. One more pass copies just them (a few ms) with every
      // commit held this time, so that it ends with nothing left (a job printing a line every
      // millisecond would otherwise land some in every pass, and the WAL never start over).
      if (m.type === 'pass' && gate.takePassed() && gate.leftMs > 0) {
        status.repeats++;
        gate.holdAll();
        holdAfter = m.pass;
        request();
        return;
      }
      // The first commit now starts the WAL over if it finds every frame copied (a commit the gate
      // does not hold, such as a job's row, may have come in between: then a later report tries
      // again). This report's figures predate that commit: judged by them, the WAL would look full
      // still, and an idle store would hold and pass again and again.
      holding = false;
      gate.open();
      return requestAsked();
    }
    if (m.type === 'pass') {
      // The WAL's content when the pass began (its frames); a restart makes it small again.
      const walBytes = (m.results.at(-1)?.log ?? 0) * pageSize;
      if (walBytes > limitBytes) force();
      // A restart that did not happen, or commits afterCommit does not count (job rows, vacuum).
      else if (!holding && walBytes >= restartAtBytes) return startHold();
    }
    requestAsked();
  };

  if (options.worker === false) {
    status.mode = 'in-thread';
  } else {
    const addonFile = options.addonFile ?? nativeAddonFile();
    if (addonFile === undefined) fallBack('cannot tell which SQLite addon file this process loaded');
    else {
      const data: CheckpointWorkerData = {
        file,
        addonFile,
        busyTimeoutMs: BUSY_TIMEOUT_MS,
        activeIntervalMs,
        idleIntervalMs,
        shared: shared.buffer as SharedArrayBuffer,
      };
      try {
        const w = new Worker(CHECKPOINT_WORKER_SOURCE, { eval: true, workerData: data });
        worker = w;
        // The daemon's lifetime is not the worker's business: close() ends it.
        w.unref();
        w.on('message', onMessage);
        w.on('error', (err) => {
          if (worker === w) fallBack(`the checkpoint worker failed: ${err.message}`);
        });
        w.on('exit', (code) => {
          if (worker === w) fallBack(startFailure === null ? `the checkpoint worker exited (code ${code})` : `the checkpoint worker could not start: ${startFailure}`);
        });
      } catch (err) {
        fallBack(`cannot start the checkpoint worker: ${(err as Error).message}`);
      }
    }
  }

  return {
    get mode() {
      return status.mode;
    },
    get passes() {
      return status.passes;
    },
    get holds() {
      return status.holds;
    },
    get repeats() {
      return status.repeats;
    },
    get passedHolds() {
      return gate.passed;
    },
    get failures() {
      return status.failures;
    },
    get forced() {
      return status.forced;
    },
    get pauses() {
      return gate.pauses;
    },
    get waits() {
      return gate.waits;
    },
    get waitedMs() {
      return gate.waitedMs;
    },
    afterCommit(bytes) {
      if (status.mode !== 'worker') return;
      sinceRequest += bytes;
      sinceRestart += bytes;
      // Counted here rather than from the worker's reports: a report comes a pass later, by when a
      // flood has added tens of MiB more, and the WAL file (which a restart reuses but never
      // shrinks) would grow to several times restartAtBytes.
      if (!holding && sinceRestart >= restartAtBytes) {
        sinceRequest = 0;
        return startHold();
      }
      if (sinceRequest < requestEveryBytes) return;
      sinceRequest = 0;
      // The worker fell behind (a slow disk, a long pass): copy on the event loop, which also slows
      // the producers down, so the WAL — and the disk it takes — stays bounded.
      if (walFileBytes(file) > limitBytes) force();
      request();
    },
    close() {
      if (status.mode === 'closed') return;
      status.mode = 'closed';
      gate.open();
      const w = worker;
      worker = null;
      if (w === null) return;
      // Synchronous, as the store's close() is: the worker ends its pass, closes its connection and
      // sets the flag; without it the store's connection, no longer the last one, could not take
      // its final checkpoint and remove the WAL.
      w.postMessage({ type: 'close' } satisfies ToCheckpointWorker);
      if (Atomics.wait(shared, SHARED.CLOSED, 0, CLOSE_WAIT_MS) === 'timed-out') void w.terminate().catch(() => undefined);
    },
  };
}

/** The WAL file's size (0 when there is none). */
function walFileBytes(file: string): number {
  return statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0;
}
