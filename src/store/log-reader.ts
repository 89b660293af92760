// Reading stored output: forward pages by seq, and finding where the last N lines start.
import type { StreamId } from '../rpc/model.ts';
import { integer } from '../rpc/validate.ts';
import { streamMask, type LogSql } from './log-sql.ts';
import type { LogChunk, LogReadQuery } from './log-types.ts';

/** Default page of {@link readLog}, in chunks. */
export const READ_DEFAULT_LIMIT = 64;
/** Largest page of {@link readLog}, in chunks. */
export const READ_MAX_LIMIT = 10_000;
/** Default byte budget of one page. */
export const READ_DEFAULT_MAX_BYTES = 1024 * 1024;
/** Chunks fetched per step while walking backwards in {@link tailSeqOf}. */
const TAIL_PAGE = 8;
const NEWLINE = 0x0a;

const seqNumber = integer(0, Number.MAX_SAFE_INTEGER);
const lineCount = integer(0, Number.MAX_SAFE_INTEGER);
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

/**
 * The afterSeq from which reading to the end yields at least the last `lines` lines of the chosen
 * streams. A line ends with "\n"; unterminated output at the end counts as a line. Walks backwards
 * a few chunks at a time and stops as soon as it has found enough line breaks.
 */
export function tailSeqOf(sql: LogSql, jobId: number, lines: number, streams?: StreamId[]): number {
  lineCount(lines, 'lines');
  const mask = streamMask(streams);
  let before = Number.MAX_SAFE_INTEGER;
  let need = lines;
  let newest = true;
  for (;;) {
    const page = sql.tailPage.all(jobId, before, mask, TAIL_PAGE);
    for (const { seq, data } of page) {
      let end = data.length; // search data[0, end)
      if (newest) {
        newest = false;
        if (lines === 0) return seq;
        // The break that ends the output closes the last line rather than starting one.
        if (data[end - 1] === NEWLINE) end -= 1;
      }
      while (end > 0) {
        const i = data.lastIndexOf(NEWLINE, end - 1);
        if (i < 0) break;
        need -= 1;
        // The break in front of the oldest wanted line: start with this chunk, or after it when
        // the break is its last byte.
        if (need === 0) return i === data.length - 1 ? seq : seq - 1;
        end = i;
      }
    }
    const oldest = page.at(-1);
    if (oldest === undefined || page.length < TAIL_PAGE) return 0;
    before = oldest.seq;
  }
}
