// Following a job's output: replay in pages, then live after each commit, paced by the consumer.
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
  // Not live: stop at the output stored now, however much the writer adds meanwhile.
  const untilSeq = q.live === false ? (ctx.sql.last.get(jobId)?.seq ?? 0) : Number.MAX_SAFE_INTEGER;
  return follow(ctx, jobId, afterSeq, untilSeq, mask, q.signal);
}

async function* follow(
  ctx: FollowContext,
  jobId: number,
  afterSeq: number,
  untilSeq: number,
  mask: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<LogItem> {
  const { sql, notifier } = ctx;
  let after = afterSeq;
  // Where the output seen so far ends, as a byte position: the size of a hole is the next chunk's
  // position minus this. Unknown when the chunk at afterSeq is itself gone.
  let endPos: number | null = after === 0 ? 0 : (sql.endOf.get(jobId, after)?.end ?? null);
  for (;;) {
    if (signal?.aborted || ctx.isClosed() || after >= untilSeq) return;
    const page = readPage(sql, jobId, after, mask);
    if (page.length === 0) {
      // Checked and waited for in one synchronous step: no commit can slip in between.
      if (!ctx.isLive(jobId) || untilSeq !== Number.MAX_SAFE_INTEGER) return;
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
  // endPos is unknown only when the caller's afterSeq chunk was removed too: then the count runs
  // from the start of the output, an upper bound.
  return { kind: 'gap', droppedBytes: nextPos - (endPos ?? 0), reason };
}
