// The prepared statements over log_chunks (and the log columns of jobs), prepared once per store
// and shared by the writer, the readers and the followers.
import type Database from 'better-sqlite3';
import { invalidArgument } from '../rpc/errors.ts';
import type { StreamId } from '../rpc/model.ts';

/** A job's log accounting as stored in its row. */
export interface LogAccounting {
  log_stored_bytes: number;
  log_dropped_bytes: number;
  log_drop_reason: string | null;
  log_trimmed_seq: number;
}

/** A chunk row as the follower reads it: metadata always, data only for the streams it wants. */
export interface FollowRow {
  seq: number;
  stream: StreamId;
  at: number;
  pos: number;
  len: number;
  data: Buffer | null;
}

/** Statements over the log tables. */
export type LogSql = ReturnType<typeof prepareLogSql>;

/** Prepares every log statement on the database. */
export function prepareLogSql(db: Database.Database) {
  return {
    insertChunk: db.prepare<[number, number, StreamId, number, number, Buffer]>(
      'INSERT INTO log_chunks (job_id, seq, stream, at, pos, data) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    /** The oldest chunks after a seq, with their sizes: what the cap removes first. */
    oldest: db.prepare<[number, number, number], { seq: number; len: number }>(
      'SELECT seq, length(data) AS len FROM log_chunks WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
    deleteRange: db.prepare<[number, number, number]>('DELETE FROM log_chunks WHERE job_id = ? AND seq > ? AND seq <= ?'),
    deleteAll: db.prepare<[number]>('DELETE FROM log_chunks WHERE job_id = ?'),
    accounting: db.prepare<[number], LogAccounting>(
      'SELECT log_stored_bytes, log_dropped_bytes, log_drop_reason, log_trimmed_seq FROM jobs WHERE id = ?',
    ),
    setAccounting: db.prepare<[number, number, string | null, number, number]>(
      'UPDATE jobs SET log_stored_bytes = ?, log_dropped_bytes = ?, log_drop_reason = ?, log_trimmed_seq = ? WHERE id = ?',
    ),
    setDropped: db.prepare<[number, string | null, number]>('UPDATE jobs SET log_dropped_bytes = ?, log_drop_reason = ? WHERE id = ?'),
    clearStored: db.prepare<[number]>('UPDATE jobs SET log_stored_bytes = 0 WHERE id = ?'),
    /** The last chunk's seq and the position just after it. */
    last: db.prepare<[number], { seq: number; end: number }>(
      'SELECT seq, pos + length(data) AS end FROM log_chunks WHERE job_id = ? ORDER BY seq DESC LIMIT 1',
    ),
    /** The position just after the newest chunk before a seq (excluded): the most a reader after that seq can have had. */
    endBefore: db.prepare<[number, number], { end: number }>(
      'SELECT pos + length(data) AS end FROM log_chunks WHERE job_id = ? AND seq < ? ORDER BY seq DESC LIMIT 1',
    ),
    /** The position just after one chunk. */
    endOf: db.prepare<[number, number], { end: number }>('SELECT pos + length(data) AS end FROM log_chunks WHERE job_id = ? AND seq = ?'),
    /** A page for read(): stream filter in SQL. Params: job, afterSeq, stream mask, limit. */
    readPage: db.prepare<[number, number, number, number], { seq: number; stream: StreamId; at: number; data: Buffer }>(
      'SELECT seq, stream, at, data FROM log_chunks WHERE job_id = ? AND seq > ? AND (stream & ?) != 0 ORDER BY seq LIMIT ?',
    ),
    /**
     * A page for follow(): every seq (so holes show), data only where the stream matches — SQLite
     * reads a column lazily, so a skipped stream's blob (its overflow pages) is never loaded.
     * Params: stream mask, job, afterSeq, limit.
     */
    followPage: db.prepare<[number, number, number, number], FollowRow>(
      `SELECT seq, stream, at, pos, length(data) AS len, CASE WHEN (stream & ?) != 0 THEN data END AS data
       FROM log_chunks WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
    ),
    /**
     * One stream's chunks backwards from a seq (excluded), for the tail lookup: an index seek on
     * log_chunks_stream, so only that stream's rows are visited. Params: job, stream, beforeSeq, limit.
     */
    streamTailPage: db.prepare<[number, StreamId, number, number], { seq: number; data: Buffer }>(
      'SELECT seq, data FROM log_chunks WHERE job_id = ? AND stream = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
    ),
    jobExists: db.prepare<[number], { one: number }>('SELECT 1 AS one FROM jobs WHERE id = ?'),
  };
}

/** Bit mask of the wanted streams (stdout = 1, stderr = 2), for `(stream & mask) != 0`. */
export function streamMask(streams: readonly StreamId[] | undefined): number {
  if (streams === undefined) return 3;
  if (streams.length === 0) throw invalidArgument('streams', streams, 'at least one of 1 (stdout) and 2 (stderr)');
  let mask = 0;
  for (const s of streams) {
    if (s !== 1 && s !== 2) throw invalidArgument('stream', s, '1 (stdout) or 2 (stderr)');
    mask |= s;
  }
  return mask;
}

/**
 * Adds causes (one, or several joined by '; ') to a job's drop reason: each distinct cause once,
 * joined by '; ', so "log cap …" and "disk full: …" can both be told.
 */
export function addReason(reasons: string | null, reason: string): string {
  const parts = reasons === null || reasons === '' ? [] : reasons.split('; ');
  for (const part of reason.split('; ')) if (!parts.includes(part)) parts.push(part);
  return parts.join('; ');
}

/** How the cap's drop reason begins (readers tell it from other causes by this). */
export const CAP_REASON_PREFIX = 'log cap ';

/** The text of the cap's drop reason. */
export function capReason(capBytes: number): string {
  return `${CAP_REASON_PREFIX}${capBytes} bytes`;
}
