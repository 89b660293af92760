// The live tail of a job's output: the last lines only, however much the job writes. Each chunk costs
// at most `capacity` line decodes (the rest of a big chunk is skipped unread), so following a flood
// stays cheap and memory stays bounded.
import type { StreamId } from '../../rpc/model.ts';
import { LineRing } from './line-ring.ts';
import { noteLine, type LogLine } from './log-line.ts';
import { LineSplitter } from './line-splitter.ts';

/** The newest lines of one job's output, with the unfinished ones. */
export class TailBuffer {
  private readonly ring: LineRing;
  private readonly splitter = new LineSplitter();
  private readonly pushLine = (line: LogLine) => this.ring.push(line);
  /** Seq of the newest chunk taken in (0 before the first). */
  lastSeq = 0;
  /** Bumped on every change; lets a view tell whether to redraw. */
  version = 0;

  constructor(capacity: number) {
    this.ring = new LineRing(capacity);
  }

  /** Lines kept. */
  get capacity(): number {
    return this.ring.capacity;
  }

  /** Takes in one chunk of output. */
  append(stream: StreamId, data: Buffer, seq: number): void {
    this.splitter.push(stream, data, seq, this.pushLine, this.ring.capacity);
    if (seq > this.lastSeq) this.lastSeq = seq;
    this.version++;
  }

  /** Adds a line from jobctl itself (dropped output, skipped ahead, errors). */
  note(text: string): void {
    this.ring.push(noteLine(text));
    this.version++;
  }

  /** The newest n lines, unfinished ones last. */
  lines(n = this.ring.capacity): LogLine[] {
    const pending = this.splitter.pending();
    const done = this.ring.tail(Math.max(0, n - pending.length));
    return pending.length === 0 ? done : [...done, ...pending].slice(-n);
  }

  /** The finished lines only (what history paging may continue from). */
  finishedLines(): LogLine[] {
    return this.ring.tail();
  }

  /** Forgets everything (another job or stream filter). */
  clear(): void {
    this.ring.clear();
    this.splitter.reset();
    this.lastSeq = 0;
    this.version++;
  }
}
