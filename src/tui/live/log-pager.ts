// Scrolling back through a job's whole output. Only a window of lines is held (at most maxLines);
// moving past either end of it reads the next stretch from the daemon (scanLog: afterSeq pages,
// follow:false). Lines are addressed by where they start (chunk seq + byte offset), so a stretch read
// later joins the window exactly. Earlier stretches are found by reading from a guessed seq before
// the window's first line, guessing further back when that held too few lines.
import { LineRing } from '../model/line-ring.ts';
import { LineSplitter } from '../model/line-splitter.ts';
import { compareStart, noteLine, type LogLine } from '../model/log-line.ts';
import type { StreamChoice } from '../model/view-state.ts';
import { formatBytes } from '../../rpc/parse-size.ts';
import { isJobctlError } from '../../rpc/errors.ts';
import { scanLog } from './log-scan.ts';
import { streamsParam } from './log-follower.ts';
import type { LogSource } from './types.ts';

/** What the log screen shows of the pager. */
export interface PagerView {
  /** The visible rows' lines (fewer when the output is shorter). */
  lines: LogLine[];
  /** Nothing before the first visible line. */
  atTop: boolean;
  /** Nothing after the last visible line (as of the last read). */
  atBottom: boolean;
  loading: boolean;
  /** The last read's error, if it failed. */
  error: string | null;
}

/** How to page. */
export interface PagerOptions {
  jobId: number;
  streams: StreamChoice;
  /** Visible rows. */
  height: number;
  /** Lines held at most. */
  maxLines?: number;
}

/** A scrollable window over a job's stored output. */
export class LogPager {
  private readonly source: LogSource;
  private readonly jobId: number;
  private readonly streams: StreamChoice;
  private readonly maxLines: number;
  private height: number;
  private window: LogLine[];
  private top: number;
  private atStart = false;
  private atEnd = false;
  private loading = false;
  private error: string | null = null;
  private closed = false;
  private working = false;
  private pending: { home: boolean; delta: number } | null = null;
  private readonly listeners = new Set<() => void>();
  private cached: PagerView | null = null;

  /** Starts at the bottom of `initial` (the lines the follower had). */
  constructor(source: LogSource, options: PagerOptions, initial: readonly LogLine[]) {
    this.source = source;
    this.jobId = options.jobId;
    this.streams = options.streams;
    this.maxLines = Math.max(options.maxLines ?? 3000, options.height * 4);
    this.height = Math.max(1, options.height);
    this.window = initial.slice(-this.maxLines);
    this.top = Math.max(0, this.window.length - this.height);
  }

  /** The visible part (the same object until something changes). */
  view(): PagerView {
    this.cached ??= {
      lines: this.window.slice(this.top, this.top + this.height),
      atTop: this.top === 0 && this.atStart,
      atBottom: this.atEnd && this.top >= this.window.length - this.height,
      loading: this.loading,
      error: this.error,
    };
    return this.cached;
  }

  /** Calls listener on every change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The terminal was resized. */
  setHeight(height: number): void {
    if (height === this.height) return;
    const bottom = this.top + this.height;
    this.height = Math.max(1, height);
    this.top = Math.max(0, Math.min(bottom - this.height, this.window.length - this.height));
    this.changed();
  }

  /** Moves by delta lines (negative: back); reads from the daemon past the window's ends. */
  scroll(delta: number): void {
    this.pending = { home: this.pending?.home ?? false, delta: (this.pending?.delta ?? 0) + delta };
    void this.work();
  }

  /** One screen back. */
  pageUp(): void {
    this.scroll(-Math.max(1, this.height - 1));
  }

  /** One screen on. */
  pageDown(): void {
    this.scroll(Math.max(1, this.height - 1));
  }

  /** To the first stored line. */
  home(): void {
    this.pending = { home: true, delta: 0 };
    void this.work();
  }

  /** Stops reading. */
  close(): void {
    this.closed = true;
    this.listeners.clear();
  }

  private changed(): void {
    this.cached = null;
    for (const listener of this.listeners) listener();
  }

  private async work(): Promise<void> {
    if (this.working) return;
    this.working = true;
    try {
      while (this.pending && !this.closed) {
        const op = this.pending;
        this.pending = null;
        this.error = null;
        if (op.home) await this.goHome();
        if (op.delta !== 0) await this.scrollBy(op.delta);
        this.changed();
      }
    } catch (err) {
      this.pending = null;
      this.error = isJobctlError(err) ? err.message : String(err);
    } finally {
      this.working = false;
      this.setLoading(false);
    }
  }

  private setLoading(loading: boolean): void {
    if (this.loading === loading) return;
    this.loading = loading;
    this.changed();
  }

  private async scrollBy(delta: number): Promise<void> {
    let target = this.top + delta;
    if (target < 0 && !this.atStart) {
      this.setLoading(true);
      target += await this.fetchBefore(-target + this.height);
    }
    if (target > this.window.length - this.height && !this.atEnd) {
      this.setLoading(true);
      target -= await this.fetchAfter(target - (this.window.length - this.height) + this.height);
    }
    this.top = Math.max(0, Math.min(target, this.window.length - this.height));
  }

  private async goHome(): Promise<void> {
    this.setLoading(true);
    const want = this.height * 3;
    const lines: LogLine[] = [];
    let gap: LogLine | null = null;
    const splitter = new LineSplitter();
    const end = await scanLog(
      this.source,
      { id: this.jobId, afterSeq: 0, streams: streamsParam(this.streams) },
      (stream, data, seq) => {
        splitter.push(stream, data, seq, (line) => lines.push(line));
        return lines.length < want;
      },
      (dropped, reason) => (gap = noteLine(`⋯ ${formatBytes(dropped)} of earlier output is no longer stored (${reason})`)),
    );
    if (end === 'end') lines.push(...splitter.pending());
    this.window = [...(gap ? [gap] : []), ...lines.slice(0, this.maxLines - 1)];
    this.top = 0;
    this.atStart = true;
    this.atEnd = end === 'end' && lines.length <= this.maxLines - 1;
  }

  // Reads up to `count` lines that come before the window; returns how many were put in front.
  private async fetchBefore(count: number): Promise<number> {
    const anchor = this.window.find((l) => l.seq > 0);
    if (!anchor) {
      this.atStart = true;
      return 0;
    }
    let back = this.seqsFor(count);
    for (;;) {
      const afterSeq = Math.max(0, anchor.seq - 1 - back);
      const ring = new LineRing(count);
      const splitter = new LineSplitter();
      let gap: LogLine | null = null;
      await scanLog(
        this.source,
        { id: this.jobId, afterSeq, streams: streamsParam(this.streams) },
        (stream, data, seq) => {
          if (seq > anchor.seq) return false;
          const part = seq === anchor.seq ? data.subarray(0, anchor.offset) : data;
          splitter.push(stream, part, seq, (line) => ring.push(line), count);
          return seq < anchor.seq;
        },
        (dropped, reason) => (gap = noteLine(`⋯ ${formatBytes(dropped)} of earlier output is no longer stored (${reason})`)),
      );
      if (ring.size >= count || afterSeq === 0) {
        const lines = ring.tail();
        if (afterSeq === 0 && ring.size < count) {
          this.atStart = true;
          if (gap) lines.unshift(gap);
        }
        this.window = [...lines, ...this.window];
        if (this.window.length > this.maxLines) {
          this.window.length = this.maxLines;
          this.atEnd = false;
        }
        this.top += lines.length;
        return lines.length;
      }
      back = back * 4 + 1;
    }
  }

  // Reads about `count` lines after the window; returns how many lines were dropped from its front.
  private async fetchAfter(count: number): Promise<number> {
    let anchorAt = -1;
    for (let i = this.window.length - 1; i >= 0; i--) {
      if ((this.window[i] as LogLine).seq > 0) {
        anchorAt = i;
        break;
      }
    }
    const anchor = anchorAt === -1 ? null : (this.window[anchorAt] as LogLine);
    const collected: LogLine[] = [];
    let replacement: LogLine | null = null;
    const take = (line: LogLine) => {
      if (anchor && line.kind !== 0) {
        const order = compareStart(line, anchor);
        if (order < 0) return;
        // The window's last line may have been unfinished: this is it, grown.
        if (order === 0) {
          if (line.kind === anchor.kind) replacement = line;
          return;
        }
      }
      collected.push(line);
    };
    const splitter = new LineSplitter();
    const end = await scanLog(
      this.source,
      { id: this.jobId, afterSeq: anchor ? anchor.seq - 1 : 0, streams: streamsParam(this.streams) },
      (stream, data, seq) => {
        splitter.push(stream, data, seq, take);
        return collected.length < count;
      },
    );
    if (end === 'end') for (const line of splitter.pending()) take(line);
    if (replacement) this.window[anchorAt] = replacement;
    // A chunk can hold far more lines than asked for: keep what the window can take.
    const keep = collected.slice(0, Math.max(count, Math.floor(this.maxLines / 2)));
    this.atEnd = end === 'end' && keep.length === collected.length;
    this.window.push(...keep);
    const drop = Math.max(0, this.window.length - this.maxLines);
    if (drop > 0) {
      this.window.splice(0, drop);
      this.top = Math.max(0, this.top - drop);
      this.atStart = false;
    }
    return drop;
  }

  // How many seqs back to read for `count` lines, from the lines per chunk seen in the window.
  private seqsFor(count: number): number {
    const seqs = new Set<number>();
    let lines = 0;
    for (const line of this.window) {
      if (line.seq === 0) continue;
      seqs.add(line.seq);
      lines++;
    }
    if (seqs.size === 0) return 64;
    return Math.min(1_000_000, Math.ceil(count / (lines / seqs.size)) + 1);
  }
}
