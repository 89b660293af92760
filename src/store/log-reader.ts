// Reading stored output: forward pages by seq (where the last N lines start: log-tail.ts).
import { integer } from '../rpc/validate.ts';
import { streamMask, type LogSql } from './log-sql.ts';
import type { LogChunk, LogReadQuery } from './log-types.ts';

/** Default page of {@link readLog}, in chunks. */
export const READ_DEFAULT_LIMIT = 64;
/** Largest page of {@link readLog}, in chunks. */
export const READ_MAX_LIMIT = 10_000;
/** Default byte budget of one page. */
export const READ_DEFAULT_MAX_BYTES = 1024 * 1024;

const seqNumber = integer(0, Number.MAX_SAFE_INTEGER);
const pageLimit = integer(1, READ_MAX_LIMIT);
const byteCount = integer(1, Number.MAX_SAFE_INTEGER, ' bytes');

/** One page of chunks after `afterSeq`, ascending; stops at `limit` chunks or after `maxBytes`. */
export function readLog(sql: LogSql, jobId: number, q: LogReadQuery = {}): LogChunk[] {
  const after = seqNumber(q.afterSeq ?? 0, 'afterSeq');
  const limit = pageLimit(q.limit ?? READ_DEFAULT_LIMIT, 'limit');
  const maxBytes = byteCount(q.maxBytes ?? READ_DEFAULT_MAX_BYTES, 'maxBytes');
  const mask = streamMask(q.streams);
  const out: LogChunk[] = [];
  let bytes = 0;
  // iterate(), not all(): a page stops at maxBytes without loading the rows past it.
  for (const row of sql.readPage.iterate(jobId, after, mask, limit)) {
    out.push(row);
    bytes += row.data.length;
    if (bytes >= maxBytes) break;
  }
  return out;
}
