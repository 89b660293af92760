// Retention of finished jobs: delete the old ones with their output, and give the space back to the
// file system (the database uses auto_vacuum=INCREMENTAL, see database.ts).
import type Database from 'better-sqlite3';
import { integer, number } from '../rpc/validate.ts';
import { truncateWal, vacuumInSteps, type VacuumContext } from './vacuum-steps.ts';

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
  /** Transactions the pages were returned in, and the longest of them in ms (the longest the event loop waited). */
  vacuumSteps: number;
  longestStepMs: number;
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

/**
 * Deletes finished jobs beyond the policy, except those whose output is still being written
 * (`isLive`), then gives the freed pages back to the file system in bounded steps (vacuum-steps.ts)
 * and checkpoints and truncates the WAL (best effort: an active reader may keep it for now). The
 * event loop runs between delete batches and between vacuum steps.
 */
export async function runRetention(
  db: Database.Database,
  sql: RetentionSql,
  isLive: (jobId: number) => boolean,
  vacuum: VacuumContext,
  policy: RetentionPolicy,
): Promise<RetentionResult> {
  if (policy.maxAgeMs !== undefined) duration(policy.maxAgeMs, 'maxAgeMs');
  if (policy.maxFinishedJobs !== undefined) count(policy.maxFinishedJobs, 'maxFinishedJobs');
  const now = policy.now ?? Date.now();
  const doomed = new Set<number>();
  if (policy.maxAgeMs !== undefined) for (const { id } of sql.olderThan.iterate(now - policy.maxAgeMs)) doomed.add(id);
  if (policy.maxFinishedJobs !== undefined) for (const { id } of sql.beyondNewest.iterate(policy.maxFinishedJobs)) doomed.add(id);
  const ids = [...doomed];

  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pagesBefore = db.pragma('page_count', { simple: true }) as number;
  let jobsDeleted = 0;
  for (let i = 0; i < ids.length; i += DELETE_BATCH) {
    if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    if (!db.open) break;
    // Asked per batch, after the wait: a writer may have been opened for a job meanwhile.
    jobsDeleted += sql.deleteBatch(ids.slice(i, i + DELETE_BATCH).filter((id) => !isLive(id)));
  }
  let steps = 0;
  let longestStepMs = 0;
  if (jobsDeleted > 0 && db.open) {
    // Moves pages from the end of the file into the freed ones and truncates the file: without
    // it SQLite keeps freed pages for reuse and the file never shrinks.
    ({ steps, longestStepMs } = await vacuumInSteps(db, vacuum));
    await truncateWal(db);
  }
  const pagesAfter = db.open ? (db.pragma('page_count', { simple: true }) as number) : pagesBefore;
  return { jobsDeleted, bytesFreed: Math.max(0, pagesBefore - pagesAfter) * pageSize, vacuumSteps: steps, longestStepMs };
}
