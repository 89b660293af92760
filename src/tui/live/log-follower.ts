// Follows one job's output into a TailBuffer (the last lines only). A follow subscription delivers
// every byte, so intake is budgeted: past budgetBytesPerSec the sink makes the connection wait until
// the next 100 ms window; and when the job outruns the budget for skipAfterMs on end, the follower
// gives up on the backlog and resubscribes at the newest lines (a note marks the jump). Following a
// job that writes 100 MB/s therefore costs a bounded share of a core and a bounded amount of memory.
// After a dropped connection it resumes where it was, once the link is back.
import type { LogSink } from '../../client/connection.ts';
import { isJobctlError } from '../../rpc/errors.ts';
import { formatBytes } from '../../rpc/parse-size.ts';
import { TailBuffer } from '../model/tail-buffer.ts';
import type { StreamChoice } from '../model/view-state.ts';
import type { LogSource, LogStream, LogsParams } from './types.ts';

/** Where the follower is. */
export type FollowState = 'starting' | 'following' | 'ended' | 'waiting' | 'failed';

/** How to follow. */
export interface FollowOptions {
  jobId: number;
  streams: StreamChoice;
  /** Lines kept (and asked for at start). */
  capacity: number;
  /** Bytes per second taken in before pausing the connection (default 8 MiB/s). */
  budgetBytesPerSec?: number;
  /** Over budget for this long on end: skip ahead (default 1000 ms). */
  skipAfterMs?: number;
  now?: () => number;
}

const WINDOW_MS = 100;

/** The streams parameter of logs.subscribe for a choice. */
export function streamsParam(choice: StreamChoice): LogsParams['streams'] {
  return choice === 'both' ? undefined : [choice];
}

/** A running follow. */
export class LogFollower {
  readonly buffer: TailBuffer;
  readonly jobId: number;
  readonly streams: StreamChoice;
  private readonly source: LogSource;
  private readonly options: Required<Omit<FollowOptions, 'now'>> & { now: () => number };
  private readonly listeners = new Set<() => void>();
  private current: LogStream | null = null;
  private stopped = false;
  private skipRequested = false;
  private windowStart = 0;
  private windowBytes = 0;
  private overBudgetSince: number | null = null;
  private lastWindowOver = false;
  /** State, for the pane's title. */
  state: FollowState = 'starting';
  /** Times the follower jumped ahead of a backlog. */
  skips = 0;

  constructor(source: LogSource, options: FollowOptions) {
    this.source = source;
    this.options = {
      budgetBytesPerSec: 8 * 1024 * 1024,
      skipAfterMs: 1000,
      now: () => performance.now(),
      ...options,
    };
    this.buffer = new TailBuffer(options.capacity);
    this.jobId = options.jobId;
    this.streams = options.streams;
  }

  /** Starts following (call once). */
  start(): void {
    void this.run();
  }

  /** Stops and unsubscribes. */
  stop(): void {
    this.stopped = true;
    this.current?.close();
    this.current = null;
    this.listeners.clear();
  }

  /** Calls listener on every change (unthrottled: views throttle); returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  private setState(state: FollowState): void {
    if (this.state === state) return;
    this.state = state;
    this.changed();
  }

  private async run(): Promise<void> {
    const { jobId, capacity } = this.options;
    const streams = streamsParam(this.options.streams);
    const fromTail = (): LogsParams => ({ id: jobId, follow: true, tailLines: capacity, ...(streams ? { streams } : {}) });
    let params = fromTail();
    while (!this.stopped) {
      const { sink, retire } = this.makeSink();
      let reason: string;
      try {
        const stream = await this.source.open(params, sink);
        if (this.stopped) {
          stream.close();
          return;
        }
        this.current = stream;
        this.setState('following');
        reason = await stream.done;
      } catch (err) {
        retire();
        if (this.stopped) return;
        if (isJobctlError(err) && (err.code === 'UNAVAILABLE' || err.code === 'UNAUTHENTICATED')) {
          // The connection dropped: resume after the last chunk seen once it is back.
          this.setState('waiting');
          await this.source.whenConnected();
          params = this.buffer.lastSeq > 0 ? { id: jobId, follow: true, afterSeq: this.buffer.lastSeq, ...(streams ? { streams } : {}) } : fromTail();
          continue;
        }
        this.buffer.note(`cannot read the output: ${isJobctlError(err) ? err.message : String(err)}`);
        this.setState('failed');
        return;
      }
      retire();
      this.current = null;
      if (this.stopped) return;
      if (this.skipRequested) {
        this.skipRequested = false;
        this.skips++;
        this.buffer.note('⋯ output is faster than the display: skipped ahead to the newest lines');
        params = fromTail();
        continue;
      }
      this.setState(reason === 'finished' ? 'ended' : 'failed');
      return;
    }
  }

  // One sink per subscription: once retired (skipped, stopped), chunks still in flight are dropped.
  private makeSink(): { sink: LogSink; retire: () => void } {
    let live = true;
    const sink: LogSink = {
      onChunk: (stream, data, seq) => {
        if (!live || this.stopped) return;
        this.buffer.append(stream, data, seq);
        this.changed();
        const pause = this.meter(data.length);
        if (pause === 'skip') {
          live = false;
          this.skipRequested = true;
          this.current?.close();
          return;
        }
        return pause;
      },
      onGap: (droppedBytes, reason, upperBound) => {
        if (!live || this.stopped) return;
        this.buffer.note(`⋯ ${upperBound ? 'up to ' : ''}${formatBytes(droppedBytes)} of output not stored (${reason})`);
        this.changed();
      },
    };
    return { sink, retire: () => (live = false) };
  }

  // Counts intake in 100 ms windows; over budget, returns a promise that ends with the window
  // (the connection pauses until it settles), or 'skip' when over budget for too long.
  private meter(bytes: number): Promise<void> | 'skip' | undefined {
    const now = this.options.now();
    if (now - this.windowStart >= WINDOW_MS) {
      // Over budget "on end" means in every window since: one quiet window resets it.
      if (!this.lastWindowOver || now - this.windowStart >= 2 * WINDOW_MS) this.overBudgetSince = null;
      this.windowStart = now;
      this.windowBytes = 0;
      this.lastWindowOver = false;
    }
    this.windowBytes += bytes;
    if (this.windowBytes < (this.options.budgetBytesPerSec * WINDOW_MS) / 1000) return undefined;
    this.lastWindowOver = true;
    this.overBudgetSince ??= this.windowStart;
    if (now - this.overBudgetSince >= this.options.skipAfterMs) {
      this.overBudgetSince = null;
      this.lastWindowOver = false;
      return 'skip';
    }
    const wait = Math.max(0, this.windowStart + WINDOW_MS - now);
    return new Promise((resolve) => setTimeout(resolve, wait));
  }
}
