// Retention of finished jobs: delete the old ones with their output, and give the space back to the
// file system (the database uses auto_vacuum=INCREMENTAL, see database.ts).
import type Database from 'better-sqlite3';
import { integer, number } from '../rpc/validate.ts';

/** Which finished jobs to keep. Running jobs are never deleted. */
export interface RetentionPolicy {
  /** Delete finished jobs that ended more than this long ago. */
  maxAgeMs?: number;
  /** Keep at most this many finished jobs (the newest). */
  maxFinishedJobs?: number;
  /** "Now" in epoch ms (default Date.now()). */
  now?: number;
}

/** What a retention pass did. */
export interface RetentionResult {
  jobsDeleted: number;
  /** How much smaller the database became, in bytes (pages returned by incremental_vacuum). */
  bytesFreed: number;
}

/** Jobs deleted per transaction: keeps each write short so other writers get their turn. */
const DELETE_BATCH = 100;

/** The statements of a retention pass, prepared once per database. */
export type RetentionSql = ReturnType<typeof prepareRetention>;

/** Prepares the retention statements and the batch-delete transaction. */
export function prepareRetention(db: Database.Database) {
  const deleteChunks = db.prepare<[number]>('DELETE FROM log_chunks WHERE job_id = ?');
  const deleteJob = db.prepare<[number]>("DELETE FROM jobs WHERE id = ? AND state != 'running'");
  return {
    // ended_at is null only for jobs that never started and were finished without a time: fall back
    // to their creation time.
    olderThan: db.prepare<[number], { id: number }>(
      "SELECT id FROM jobs WHERE state != 'running' AND coalesce(ended_at, created_at) < ? ORDER BY id",
    ),
    beyondNewest: db.prepare<[number], { id: number }>("SELECT id FROM jobs WHERE state != 'running' ORDER BY id DESC LIMIT -1 OFFSET ?"),
    deleteBatch: db.transaction((ids: number[]) => {
      let n = 0;
      for (const id of ids) {
        deleteChunks.run(id);
        n += deleteJob.run(id).changes;
      }
      return n;
    }),
  };
}

const duration = number(0, Number.MAX_SAFE_INTEGER, ' ms');
const count = integer(0, Number.MAX_SAFE_INTEGER);

/** How long retention waits for the checkpoint worker's pass to end before it gives up on truncating. */
const TRUNCATE_TRIES = 20;
const TRUNCATE_RETRY_MS = 5;

/**
 * Copies the WAL into the database file and truncates both (the file only shrinks then). SQLite
 * answers "busy" at once, without its busy handler, while another connection checkpoints — the
 * store's checkpoint worker does so often during output — so a busy answer is retried for a moment
 * (retention is rare; ≤ 100 ms of waiting). Still busy: the worker's next complete pass finishes it.
 */
function truncateWal(db: Database.Database): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < TRUNCATE_TRIES; i++) {
    const row = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    if (row[0]?.busy === 0) return;
    Atomics.wait(pause, 0, 0, TRUNCATE_RETRY_MS);
  }
}

/**
 * Deletes finished jobs beyond the policy, except those whose output is still being written
 * (`isLive`), then runs incremental_vacuum so the file shrinks. The WAL is checkpointed and
 * truncated afterwards (best effort: an active reader may keep it for now).
 */
export function runRetention(
  db: Database.Database,
  sql: RetentionSql,
  isLive: (jobId: number) => boolean,
  policy: RetentionPolicy,
): RetentionResult {
  if (policy.maxAgeMs !== undefined) duration(policy.maxAgeMs, 'maxAgeMs');
  if (policy.maxFinishedJobs !== undefined) count(policy.maxFinishedJobs, 'maxFinishedJobs');
  const now = policy.now ?? Date.now();
  const doomed = new Set<number>();
  if (policy.maxAgeMs !== undefined) for (const { id } of sql.olderThan.iterate(now - policy.maxAgeMs)) doomed.add(id);
  if (policy.maxFinishedJobs !== undefined) for (const { id } of sql.beyondNewest.iterate(policy.maxFinishedJobs)) doomed.add(id);
  const ids = [...doomed].filter((id) => !isLive(id));

  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pagesBefore = db.pragma('page_count', { simple: true }) as number;
  let jobsDeleted = 0;
  for (let i = 0; i < ids.length; i += DELETE_BATCH) jobsDeleted += sql.deleteBatch(ids.slice(i, i + DELETE_BATCH));
  if (jobsDeleted > 0) {
    // Moves pages from the end of the file into the freed ones and truncates the file: without
    // it SQLite keeps freed pages for reuse and the file never shrinks.
    db.pragma('incremental_vacuum');
    truncateWal(db);
  }
  const pagesAfter = db.pragma('page_count', { simple: true }) as number;
  return { jobsDeleted, bytesFreed: Math.max(0, pagesBefore - pagesAfter) * pageSize };
}
