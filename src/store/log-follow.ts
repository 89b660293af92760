// Following a job's output: replay in pages, then live after each commit, paced by the consumer.
import { JobctlError } from '../rpc/errors.ts';
import type { StreamId } from '../rpc/model.ts';
import { integer } from '../rpc/validate.ts';
import { CAP_REASON_PREFIX, streamMask, type LogSql } from './log-sql.ts';
import type { LogFollowQuery, LogItem } from './log-types.ts';
import type { CommitNotifier } from './notifier.ts';

/** One follower page holds at most this many chunks of the wanted streams … */
export const FOLLOW_PAGE_CHUNKS = 64;
/** … or stops after the chunk that reaches this many bytes … */
export const FOLLOW_PAGE_BYTES = 1024 * 1024;
/** … and looks at no more rows than this (rows of a skipped stream cost no blob reads). */
const FOLLOW_PAGE_ROWS = 1024;

const seqNumber = integer(0, Number.MAX_SAFE_INTEGER);
const bytePos = integer(0, Number.MAX_SAFE_INTEGER, ' bytes');

/** What a follower needs from the store. */
export interface FollowContext {
  sql: LogSql;
  notifier: CommitNotifier;
  isLive(jobId: number): boolean;
  isClosed(): boolean;
}

interface PageItem {
  seq: number;
  stream: StreamId;
  at: number;
  pos: number;
  len: number;
  data: Buffer | null;
}

/**
 * Yields the job's output after `afterSeq` (see LogStore.follow). Validation happens here, at the
 * call, not at the first next().
 */
export function followLog(ctx: FollowContext, jobId: number, q: LogFollowQuery = {}): AsyncIterableIterator<LogItem> {
  const mask = streamMask(q.streams);
  const afterSeq = seqNumber(q.afterSeq ?? 0, 'afterSeq');
  const afterPos = q.afterPos === undefined ? undefined : bytePos(q.afterPos, 'afterPos');
  // Not live: stop at the output stored now (or at the caller's end point), however much the
  // writer adds meanwhile.
  const endSeq = q.endSeq === undefined ? undefined : seqNumber(q.endSeq, 'endSeq');
  const untilSeq = q.live === false ? (endSeq ?? ctx.sql.last.get(jobId)?.seq ?? 0) : Number.MAX_SAFE_INTEGER;
  // A job that exists now and is gone when the output runs out was deleted under the follower
  // (retention): that must not read as the end of its output. An unknown job simply has none.
  const existed = ctx.sql.jobExists.get(jobId) !== undefined;
  return follow(ctx, jobId, afterSeq, afterPos, untilSeq, mask, q.signal, existed);
}

async function* follow(
  ctx: FollowContext,
  jobId: number,
  afterSeq: number,
  afterPos: number | undefined,
  untilSeq: number,
  mask: number,
  signal: AbortSignal | undefined,
  existed: boolean,
): AsyncGenerator<LogItem> {
  const { sql, notifier } = ctx;
  let after = afterSeq;
  // Where the output seen so far ends, as a byte position: the size of a hole is the next chunk's
  // position minus this. Unknown when the chunk at afterSeq is itself gone and the caller did not
  // say where its output ended.
  let endPos: number | null = after === 0 ? 0 : (sql.endOf.get(jobId, after)?.end ?? afterPos ?? null);
  for (;;) {
    if (signal?.aborted || ctx.isClosed() || after >= untilSeq) return;
    const page = readPage(sql, jobId, after, mask);
    if (page.length === 0) {
      // Checked and waited for in one synchronous step: no commit can slip in between.
      if (!ctx.isLive(jobId) || untilSeq !== Number.MAX_SAFE_INTEGER) {
        if (!ctx.isClosed()) checkNotDeleted(sql, jobId, after, untilSeq, existed);
        return;
      }
      await notifier.wait(jobId, signal);
      continue;
    }
    for (const row of page) {
      if (row.seq > untilSeq) return;
      if (row.seq > after + 1) {
        yield gap(sql, jobId, after, endPos, row.pos);
        if (signal?.aborted) return;
      }
      after = row.seq;
      endPos = row.pos + row.len;
      if (row.data !== null) {
        yield { kind: 'chunk', chunk: { seq: row.seq, stream: row.stream, at: row.at, data: row.data } };
        if (signal?.aborted) return;
      }
    }
  }
}

/**
 * Throws NOT_FOUND when the output ran out because it was deleted: the job is gone (retention), or
 * chunks the follower was promised (up to a replay's end point) or has already read are no longer
 * stored. The cap never causes this: it keeps the newest chunk.
 */
function checkNotDeleted(sql: LogSql, jobId: number, after: number, untilSeq: number, existed: boolean): void {
  const gone = existed && sql.jobExists.get(jobId) === undefined;
  // A replay ends at untilSeq, so running out before it means nothing after `after` is stored; a
  // live follower that ran out has read chunks that must still be there.
  const emptied = untilSeq !== Number.MAX_SAFE_INTEGER ? after < untilSeq : after > 0 && sql.last.get(jobId) === undefined;
  if (!gone && !emptied) return;
  const what = gone ? 'the job was deleted (retention of finished jobs)' : 'its stored output was deleted';
  throw new JobctlError('NOT_FOUND', `the log of job ${jobId} was deleted while it was being read: ${what}; the output shown up to here is incomplete`, {
    details: { id: jobId, afterSeq: after },
  });
}

/** The next rows after `after`, bounded in chunks, bytes and rows; synchronous (no await inside). */
function readPage(sql: LogSql, jobId: number, after: number, mask: number): PageItem[] {
  const page: PageItem[] = [];
  let chunks = 0;
  let bytes = 0;
  for (const row of sql.followPage.iterate(mask, jobId, after, FOLLOW_PAGE_ROWS)) {
    page.push(row);
    if (row.data === null) continue;
    chunks += 1;
    bytes += row.data.length;
    if (chunks >= FOLLOW_PAGE_CHUNKS || bytes >= FOLLOW_PAGE_BYTES) break;
  }
  return page;
}

/**
 * The marker for the missing seqs after `after`. The cause comes from the job's row: seqs up to
 * log_trimmed_seq went to the cap, later holes to failed writes.
 */
function gap(sql: LogSql, jobId: number, after: number, endPos: number | null, nextPos: number): LogItem {
  const acc = sql.accounting.get(jobId);
  const reasons = acc?.log_drop_reason?.split('; ') ?? [];
  const byCap = acc !== undefined && after < acc.log_trimmed_seq;
  const cause = byCap ? reasons.find((r) => r.startsWith(CAP_REASON_PREFIX)) : reasons.find((r) => !r.startsWith(CAP_REASON_PREFIX));
  const reason = cause ?? acc?.log_drop_reason ?? 'output missing';
  // A position past the next chunk cannot be where the reader's output ended (a wrong afterPos).
  if (endPos !== null && endPos <= nextPos) return { kind: 'gap', droppedBytes: nextPos - endPos, reason };
  // The reader resumed after a chunk that is gone too: where its output ended is no longer stored.
  // It had at most up to the newest chunk still stored before `after` (or none of it): counting
  // from there is the most that can be missing — said as such, never as bytes surely dropped.
  const from = sql.endBefore.get(jobId, after)?.end ?? 0;
  return {
    kind: 'gap',
    droppedBytes: nextPos - from,
    reason: `${reason}; at most this much: reading resumed after chunk ${after}, which is no longer stored either, so the count runs from byte ${from} and may include output already received`,
    upperBound: true,
  };
}
