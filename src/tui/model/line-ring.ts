// A bounded ring of lines: the newest `capacity` are kept, older ones fall out.
import type { LogLine } from './log-line.ts';

/** The last `capacity` lines pushed. */
export class LineRing {
  readonly capacity: number;
  private readonly slots: Array<LogLine | undefined>;
  private next = 0;
  private count = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`line ring capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.slots = new Array<LogLine | undefined>(capacity);
  }

  /** Lines held now. */
  get size(): number {
    return this.count;
  }

  /** Adds a line, dropping the oldest when full. */
  push(line: LogLine): void {
    this.slots[this.next] = line;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** The newest n lines (all when n is larger), oldest first. */
  tail(n = this.count): LogLine[] {
    const take = Math.min(n, this.count);
    const out = new Array<LogLine>(take);
    for (let i = 0; i < take; i++) out[i] = this.slots[(this.next - take + i + this.capacity) % this.capacity] as LogLine;
    return out;
  }

  /** Empties the ring. */
  clear(): void {
    this.slots.fill(undefined);
    this.next = 0;
    this.count = 0;
  }
}
