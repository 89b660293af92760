// `logs --tail N`: where the last N lines of each stream begin. Lines are counted per stream, since
// a stderr chunk written in the middle of an unfinished stdout line does not end that line. The log
// is read backwards, a page at a time, and the reading is spread over turns of the event loop: a
// tail of a million lines over a 256 MiB log reads all of it, which done at once stalls the daemon
// (≈ 0.3 s), and every other client with it.
import { JobctlError } from '../rpc/errors.ts';
import type { StreamId } from '../rpc/model.ts';
import { integer } from '../rpc/validate.ts';
import { streamMask, type LogSql } from './log-sql.ts';
import type { LogChunk, LogTail, LogTailQuery, TailStart } from './log-types.ts';
import { TurnBudget } from './turn-budget.ts';

/** Seqs looked at per step while walking backwards (a step also ends at the turn's byte budget). */
const TAIL_STEP_SEQS = 1024;
/** What looking at one row costs against the byte budget: 16 Ki rows a turn when no blob is read. */
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
}

/** See LogStore.tail. */
export async function findTail(sql: LogSql, jobId: number, lines: number, q: LogTailQuery = {}): Promise<LogTail> {
  lineCount(lines, 'lines');
  const mask = streamMask(q.streams);
  const endSeq = q.endSeq === undefined ? (sql.last.get(jobId)?.seq ?? 0) : seqNumber(q.endSeq, 'endSeq');
  const scans: StreamScan[] = ([1, 2] as const)
    .filter((s) => (mask & s) !== 0)
    .map((stream) => ({ stream, need: lines, newest: true, start: lines === 0 ? { stream, seq: endSeq + 1, skip: 0 } : null }));
  const first = sql.first.get(jobId)?.seq ?? 0;
  let before = endSeq + 1;
  while (before > first && scans.some((s) => s.start === null)) {
    if (budget.exhausted) {
      await budget.available();
      if (q.signal?.aborted) throw q.signal.reason ?? new JobctlError('UNAVAILABLE', 'the tail lookup was cancelled');
    }
    const from = Math.max(first, before - TAIL_STEP_SEQS);
    // Rows of a stream that has its lines (or was not asked for) are passed over in SQL, their
    // blobs unread; they still cost a little each.
    budget.spend((before - from) * ROW_COST);
    const counting = streamMask(scans.filter((s) => s.start === null).map((s) => s.stream));
    let next = from;
    // iterate(), not all(): the step ends at the turn's budget without loading the rows past it.
    for (const { seq, stream, data } of sql.tailPage.iterate(jobId, before, from, counting)) {
      budget.spend(data.length);
      const scan = scans.find((s) => s.stream === stream);
      if (scan !== undefined && scan.start === null && data.length > 0) scan.start = startIn(scan, seq, data);
      if (budget.exhausted || scans.every((s) => s.start !== null)) {
        next = seq;
        break;
      }
    }
    before = next;
  }
  // A stream with fewer lines than asked: all of it.
  const starts = scans.map((s) => s.start ?? { stream: s.stream, seq: 0, skip: 0 });
  const afterSeq = Math.max(0, Math.min(...starts.map((s) => s.seq)) - 1);
  return { endSeq, afterSeq, starts };
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
