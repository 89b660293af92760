// The log store: one writer per job, the readers, the followers and what ties them together.
import type Database from 'better-sqlite3';
import { JobctlError } from '../rpc/errors.ts';
import { followLog } from './log-follow.ts';
import { readLog } from './log-reader.ts';
import { findTail } from './log-tail.ts';
import { prepareLogSql } from './log-sql.ts';
import type { LogStore } from './log-types.ts';
import type { CommitGate } from './commit-gate.ts';
import { createCommitBatch, JobLogWriter, type WriterLimits } from './log-writer.ts';
import { CommitNotifier } from './notifier.ts';

/** The log store plus what only the owning Store calls. */
export interface LogStoreHandle extends LogStore {
  /** Flushes and closes every open writer and ends every follower: the database is about to close. */
  closeAll(): void;
}

/**
 * Builds the log store over an open, migrated database. The checkpointer is told each batch's size
 * (`afterCommit`) and may hold queued commits for a moment (`gate`).
 */
export function createLogStore(
  db: Database.Database,
  limits: WriterLimits,
  onWriteError: ((jobId: number, err: unknown) => void) | undefined,
  checkpoints: { afterCommit(bytes: number): void; gate: CommitGate },
): LogStoreHandle {
  const sql = prepareLogSql(db);
  const notifier = new CommitNotifier();
  const live = new Map<number, JobLogWriter>();
  let closed = false;
  const writerContext = {
    sql,
    commit: createCommitBatch(db, sql),
    notifier,
    limits,
    onWriteError,
    onClose: (jobId: number) => live.delete(jobId),
    afterCommit: (bytes: number) => checkpoints.afterCommit(bytes),
    gate: checkpoints.gate,
  };
  const followContext = { sql, notifier, isLive: (jobId: number) => live.has(jobId), isClosed: () => closed };
  const deleteLogs = db.transaction((jobId: number) => {
    sql.deleteAll.run(jobId);
    sql.clearStored.run(jobId);
  });

  return {
    writer(jobId) {
      if (closed) throw new JobctlError('UNAVAILABLE', 'the store is closed');
      if (live.has(jobId)) throw new JobctlError('CONFLICT', `job ${jobId} already has an open log writer`, { details: { id: jobId } });
      const w = new JobLogWriter(jobId, writerContext);
      live.set(jobId, w);
      return w;
    },
    read: (jobId, q) => readLog(sql, jobId, q),
    lastSeq: (jobId) => sql.last.get(jobId)?.seq ?? 0,
    tail: (jobId, lines, q) => findTail(sql, jobId, lines, q),
    follow: (jobId, q) => followLog(followContext, jobId, q),
    isLive: (jobId) => live.has(jobId),
    deleteJobLogs(jobId) {
      if (live.has(jobId)) throw new JobctlError('CONFLICT', `cannot delete the output of job ${jobId} while it is being written`, { details: { id: jobId } });
      deleteLogs(jobId);
    },
    closeAll() {
      for (const w of [...live.values()]) w.close();
      closed = true;
      notifier.notifyAll();
    },
  };
}
