// Stand-ins for the daemon in TUI tests: a log store with logs.subscribe's semantics (afterSeq,
// tailLines, streams, follow, pacing by the sink's promises, unsubscribe), and a store of jobs.
import type { LogSink } from '../../src/client/connection.ts';
import { JobctlError } from '../../src/rpc/errors.ts';
import type { JobInfo, StreamId } from '../../src/rpc/model.ts';
import type { LogSource, LogStream, LogsParams, TopActions } from '../../src/tui/live/types.ts';

/** One stored chunk. */
export interface FakeChunk {
  seq: number;
  stream: StreamId;
  data: Buffer;
}

interface Sub {
  params: LogsParams;
  sink: LogSink;
  nextIndex: number;
  closed: boolean;
  end: (reason: string) => void;
  fail: (err: Error) => void;
  pumping: boolean;
}

/** A job's output in memory, served like the daemon serves it. */
export class FakeLogs implements LogSource {
  readonly chunks: FakeChunk[] = [];
  /** Every subscription opened, for assertions. */
  readonly opened: LogsParams[] = [];
  /** Bytes delivered to sinks. */
  delivered = 0;
  private readonly subs = new Set<Sub>();
  private connected = true;
  private reconnect: (() => void) | null = null;
  private whenUp: Promise<void> = Promise.resolve();
  private nextSeq = 1;
  private writerOpen = true;

  /** Appends output (one chunk); live followers receive it. */
  write(stream: StreamId, text: string | Buffer): void {
    this.chunks.push({ seq: this.nextSeq++, stream, data: Buffer.isBuffer(text) ? text : Buffer.from(text) });
    for (const sub of this.subs) void this.pump(sub);
  }

  /** Leaves a hole in the seqs (a failed commit), or skips seqs. */
  skipSeqs(n: number): void {
    this.nextSeq += n;
  }

  /** The job ended: followers finish once they reach the end. */
  finish(): void {
    this.writerOpen = false;
    for (const sub of this.subs) void this.pump(sub);
  }

  /** Open subscriptions now. */
  get openCount(): number {
    return this.subs.size;
  }

  /** Drops the "connection": open subscriptions fail with UNAVAILABLE until restore(). */
  drop(): void {
    this.connected = false;
    this.whenUp = new Promise((resolve) => (this.reconnect = resolve));
    for (const sub of [...this.subs]) {
      this.subs.delete(sub);
      sub.fail(new JobctlError('UNAVAILABLE', 'connection to the daemon closed (code 1006)'));
    }
  }

  /** The connection is back. */
  restore(): void {
    this.connected = true;
    this.reconnect?.();
  }

  whenConnected(): Promise<void> {
    return this.whenUp;
  }

  async open(params: LogsParams, sink: LogSink): Promise<LogStream> {
    if (!this.connected) throw new JobctlError('UNAVAILABLE', 'not connected to the daemon');
    this.opened.push(params);
    let end!: (reason: string) => void;
    let fail!: (err: Error) => void;
    const done = new Promise<string>((resolve, reject) => {
      end = resolve;
      fail = reject;
    });
    const sub: Sub = { params, sink, nextIndex: this.startIndex(params), closed: false, end, fail, pumping: false };
    this.subs.add(sub);
    setImmediate(() => void this.pump(sub));
    return {
      done,
      close: () => {
        if (sub.closed || !this.subs.has(sub)) return;
        sub.closed = true;
        this.subs.delete(sub);
        setImmediate(() => end('unsubscribed'));
      },
    };
  }

  private matches(params: LogsParams, chunk: FakeChunk): boolean {
    return !params.streams || params.streams.includes(chunk.stream === 1 ? 'stdout' : 'stderr');
  }

  private startIndex(params: LogsParams): number {
    if (params.afterSeq !== undefined) {
      const i = this.chunks.findIndex((c) => c.seq > (params.afterSeq as number));
      return i === -1 ? this.chunks.length : i;
    }
    if (params.tailLines !== undefined) {
      // Like the daemon: start at the chunk that holds the N-th last line (chunks may hold more).
      let lines = 0;
      for (let i = this.chunks.length - 1; i >= 0; i--) {
        const c = this.chunks[i] as FakeChunk;
        if (!this.matches(params, c)) continue;
        for (const b of c.data) if (b === 10) lines++;
        if (lines > params.tailLines) return i;
      }
      return 0;
    }
    return 0;
  }

  private async pump(sub: Sub): Promise<void> {
    if (sub.pumping) return;
    sub.pumping = true;
    try {
      while (!sub.closed && sub.nextIndex < this.chunks.length) {
        const chunk = this.chunks[sub.nextIndex++] as FakeChunk;
        if (!this.matches(sub.params, chunk)) continue;
        this.delivered += chunk.data.length;
        const paused = sub.sink.onChunk(chunk.stream, chunk.data, chunk.seq, Date.now());
        if (paused instanceof Promise) await paused;
      }
      if (!sub.closed && (!sub.params.follow || !this.writerOpen) && this.subs.has(sub)) {
        this.subs.delete(sub);
        sub.end('finished');
      }
    } finally {
      sub.pumping = false;
    }
  }
}

/** A job as the daemon would describe it. */
export function fakeJob(id: number, over: Partial<JobInfo> = {}): JobInfo {
  return {
    id,
    name: null,
    owner: 'alice',
    state: 'running',
    argv: ['sleep', String(100 + id)],
    cwd: '/home/alice',
    limits: {},
    exitCode: null,
    signal: null,
    oomKilled: false,
    reason: null,
    pid: 1000 + id,
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: new Date(Date.now() - 65_000).toISOString(),
    endedAt: null,
    usage: { cpuUsec: 0, memoryBytes: 10 * 1024 * 1024, memoryPeakBytes: 12 * 1024 * 1024, pids: 1 },
    log: { storedBytes: 0, droppedBytes: 0, dropReason: null },
    ...over,
  };
}

/** Actions that record what was asked. */
export function fakeActions(logs: LogSource): TopActions & { stopped: number[]; allCalls: boolean[] } {
  const stopped: number[] = [];
  const allCalls: boolean[] = [];
  return {
    logs,
    stopped,
    allCalls,
    async stopJob(id) {
      stopped.push(id);
      return fakeJob(id, { state: 'stopped', signal: 'SIGTERM' });
    },
    setAll(all) {
      allCalls.push(all);
    },
  };
}

/** Waits until check() is truthy (polling), or fails naming what. */
export async function until<T>(what: string, check: () => T, timeoutMs = 3000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
