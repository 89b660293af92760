// Splits a job's output chunks into lines, stdout and stderr apart (a line may span chunks of its
// stream). Bounded: a line longer than maxLineBytes is cut and marked, the rest of it dropped; and a
// caller that keeps only the last N lines can have the rest of a big chunk skipped without decoding.
import type { StreamId } from '../../rpc/model.ts';
import type { LogLine } from './log-line.ts';
import { displayLine } from './sanitize.ts';

/** Bytes of one line kept by default (lines are shown one screen row each). */
export const MAX_LINE_BYTES = 2048;

/** Marks a line that was cut. */
const CUT = ' …';

interface Partial {
  parts: Buffer[];
  bytes: number;
  cut: boolean;
  seq: number;
  offset: number;
}

/** Turns chunks into lines; keeps each stream's unfinished line until its newline arrives. */
export class LineSplitter {
  private readonly maxLineBytes: number;
  private readonly partial: Record<StreamId, Partial | null> = { 1: null, 2: null };

  constructor(maxLineBytes = MAX_LINE_BYTES) {
    this.maxLineBytes = maxLineBytes;
  }

  /**
   * Emits every line that data completes, in order. With keepLast, only the last keepLast complete
   * lines of this chunk are decoded when it holds more (what came before them cannot be shown).
   * Returns true when earlier lines were skipped that way.
   */
  push(stream: StreamId, data: Buffer, seq: number, emit: (line: LogLine) => void, keepLast?: number): boolean {
    let start = 0;
    let skipped = false;
    if (keepLast !== undefined) {
      const from = startOfLastLines(data, keepLast);
      if (from > 0) {
        start = from;
        skipped = true;
        this.partial[stream] = null;
      }
    }
    for (;;) {
      const nl = data.indexOf(10, start);
      if (nl === -1) break;
      const open = this.partial[stream];
      if (open) {
        this.add(open, data, start, nl);
        emit(this.lineOf(stream, open));
        this.partial[stream] = null;
      } else {
        emit({ kind: stream, text: this.decode(data, start, nl), seq, offset: start });
      }
      start = nl + 1;
    }
    if (start < data.length) {
      const open = this.partial[stream] ?? (this.partial[stream] = { parts: [], bytes: 0, cut: false, seq, offset: start });
      this.add(open, data, start, data.length);
    }
    return skipped;
  }

  /** The unfinished lines as they stand (both streams, oldest start first). */
  pending(): LogLine[] {
    const out: LogLine[] = [];
    for (const stream of [1, 2] as const) {
      const open = this.partial[stream];
      if (open) out.push(this.lineOf(stream, open));
    }
    return out.sort((a, b) => a.seq - b.seq || a.offset - b.offset);
  }

  /** Forgets unfinished lines. */
  reset(): void {
    this.partial[1] = null;
    this.partial[2] = null;
  }

  private add(open: Partial, data: Buffer, from: number, to: number): void {
    const room = this.maxLineBytes - open.bytes;
    if (room <= 0) {
      if (to > from) open.cut = true;
      return;
    }
    const end = Math.min(to, from + room);
    if (end < to) open.cut = true;
    // Copied: a slice would keep the whole chunk alive for as long as the line is.
    open.parts.push(Buffer.from(data.subarray(from, end)));
    open.bytes += end - from;
  }

  private lineOf(stream: StreamId, open: Partial): LogLine {
    const bytes = open.parts.length === 1 ? (open.parts[0] as Buffer) : Buffer.concat(open.parts);
    const text = displayLine(bytes.toString('utf8', 0, charBoundary(bytes, 0, bytes.length)));
    return { kind: stream, text: open.cut ? text + CUT : text, seq: open.seq, offset: open.offset };
  }

  private decode(data: Buffer, from: number, to: number): string {
    if (to - from <= this.maxLineBytes) return displayLine(data.toString('utf8', from, to));
    return displayLine(data.toString('utf8', from, charBoundary(data, from, from + this.maxLineBytes))) + CUT;
  }
}

/**
 * Where the last `lines` complete lines of data begin, when data holds more than that many newlines
 * (else 0). Reads backwards from the end, touching only the bytes of those lines.
 */
export function startOfLastLines(data: Buffer, lines: number): number {
  let pos = data.length;
  // The last complete line ends at the last newline; its start is after the newline before it, so
  // the (lines + 1)-th newline from the end is where the kept lines begin.
  for (let found = 0; found <= lines; found++) {
    const nl = pos > 0 ? data.lastIndexOf(10, pos - 1) : -1;
    if (nl === -1) return 0;
    if (found === lines) return nl + 1;
    pos = nl;
  }
  return 0;
}

// A cut must not split a UTF-8 sequence (it would show as a replacement character).
function charBoundary(data: Buffer, from: number, to: number): number {
  if (to >= data.length) return data.length;
  let end = to;
  while (end > from && ((data[end] as number) & 0xc0) === 0x80) end--;
  return end;
}
