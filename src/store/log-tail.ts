// `logs --tail N`: where the last N lines of each stream begin. Lines are counted per stream, since
// a stderr chunk written in the middle of an unfinished stdout line does not end that line. Each
// stream's chunks are read backwards on their own (an index seek per page, log_chunks_stream), so a
// stream that runs out of chunks stops at once and never makes the lookup walk the other stream's
// rows. The reading is spread over turns of the event loop: a tail of a million lines over a 256 MiB
// log reads all of it, which done at once stalls the daemon (≈ 0.3 s), and every other client with it.
import { JobctlError } from '../rpc/errors.ts';
import type { StreamId } from '../rpc/model.ts';
import { integer } from '../rpc/validate.ts';
import { streamMask, type LogSql } from './log-sql.ts';
import type { LogChunk, LogTail, LogTailQuery, TailStart } from './log-types.ts';
import { TurnBudget } from './turn-budget.ts';

/** Chunks of one stream read per query while walking backwards (a step also ends at the turn's byte budget). */
const TAIL_STEP_CHUNKS = 256;
/** What looking at one row costs against the byte budget, besides its bytes. */
const ROW_COST = 64;
/**
 * Bytes all tail lookups together read in one turn of the event loop; past it they continue on the
 * next turn, after I/O. 1 MiB is ≈ 1–2 ms of reading and scanning: the other clients' calls wait
 * no longer than that, and a 256 MiB log is read in ≈ 256 turns.
 */
export const TAIL_TURN_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

const lineCount = integer(0, Number.MAX_SAFE_INTEGER);
const seqNumber = integer(0, Number.MAX_SAFE_INTEGER);

/** Shared by every tail lookup of the process. */
const budget = new TurnBudget(TAIL_TURN_BYTES);

/** Per-stream progress of a lookup. */
interface StreamScan {
  stream: StreamId;
  need: number;
  /** No chunk of this stream seen yet: the newline that ends its output closes a line, it starts none. */
  newest: boolean;
  start: TailStart | null;
  /** The next page reads this stream's chunks before this seq. */
  before: number;
  /** The oldest chunk of this stream seen so far (null: none yet). */
  oldest: number | null;
  /** Every chunk of this stream up to the end point was read: it has fewer lines than asked. */
  exhausted: boolean;
}

/** See LogStore.tail. */
export async function findTail(sql: LogSql, jobId: number, lines: number, q: LogTailQuery = {}): Promise<LogTail> {
  lineCount(lines, 'lines');
  const mask = streamMask(q.streams);
  const endSeq = q.endSeq === undefined ? (sql.last.get(jobId)?.seq ?? 0) : seqNumber(q.endSeq, 'endSeq');
  const scans: StreamScan[] = ([1, 2] as const)
    .filter((s) => (mask & s) !== 0)
    .map((stream) => ({
      stream,
      need: lines,
      newest: true,
      start: lines === 0 ? { stream, seq: endSeq + 1, skip: 0 } : null,
      before: endSeq + 1,
      oldest: null,
      exhausted: false,
    }));
  for (;;) {
    const open = scans.filter((s) => s.start === null && !s.exhausted);
    if (open.length === 0) break;
    for (const scan of open) {
      if (budget.exhausted) {
        await budget.available();
        if (q.signal?.aborted) throw q.signal.reason ?? new JobctlError('UNAVAILABLE', 'the tail lookup was cancelled');
      }
      step(sql, jobId, scan);
    }
  }
  // A stream with fewer lines than asked: all of it (seq 0), which begins at its oldest chunk.
  const starts = scans.map((s) => s.start ?? { stream: s.stream, seq: 0, skip: 0 });
  const from = scans.map((s) => (s.start !== null ? s.start.seq : s.oldest)).filter((seq): seq is number => seq !== null);
  // No wanted stream has a chunk up to endSeq: nothing to read after endSeq.
  const afterSeq = from.length === 0 ? endSeq : Math.max(0, Math.min(...from) - 1);
  return { endSeq, afterSeq, starts };
}

/**
 * Reads one page of the stream's chunks backwards, counting lines, until it finds the start, the
 * page ends or the turn's budget is spent; synchronous (no await inside).
 */
function step(sql: LogSql, jobId: number, scan: StreamScan): void {
  let rows = 0;
  // iterate(), not all(): the step ends at the turn's budget without loading the rows past it.
  for (const { seq, data } of sql.streamTailPage.iterate(jobId, scan.stream, scan.before, TAIL_STEP_CHUNKS)) {
    rows += 1;
    budget.spend(ROW_COST + data.length);
    scan.before = seq;
    scan.oldest = seq;
    if (data.length > 0) scan.start = startIn(scan, seq, data);
    // Leaving iterate() early resets the statement: the next step starts a new seek before `before`.
    if (scan.start !== null || budget.exhausted) return;
  }
  // A short page: no older chunk of this stream.
  if (rows < TAIL_STEP_CHUNKS) scan.exhausted = true;
}

/** Counts the newlines of one chunk, newest first; the start once the stream has its lines, else null. */
function startIn(scan: StreamScan, seq: number, data: Buffer): TailStart | null {
  let end = data.length; // search data[0, end)
  if (scan.newest) {
    scan.newest = false;
    // The break that ends the output closes the last line rather than starting one.
    if (data[end - 1] === NEWLINE) end -= 1;
  }
  while (end > 0) {
    const i = data.lastIndexOf(NEWLINE, end - 1);
    if (i < 0) return null;
    scan.need -= 1;
    // The break in front of the oldest wanted line: the tail starts just after it.
    if (scan.need === 0) return { stream: scan.stream, seq, skip: i + 1 };
    end = i;
  }
  return null;
}

/** The part of a chunk that belongs to the tail: all of it, its end, or null when it comes before. */
export function tailPart(tail: Pick<LogTail, 'starts'>, chunk: Pick<LogChunk, 'seq' | 'stream' | 'data'>): Buffer | null {
  const start = tail.starts.find((s) => s.stream === chunk.stream);
  if (start === undefined || chunk.seq < start.seq) return null;
  if (chunk.seq > start.seq || start.skip === 0) return chunk.data;
  return start.skip >= chunk.data.length ? null : chunk.data.subarray(start.skip);
}
