// The writer of one job's output: coalesces appends into chunks, commits them in batches, applies
// the per-job cap, and survives failed commits (a full disk) by dropping and counting.
import type Database from 'better-sqlite3';
import { JobctlError } from '../rpc/errors.ts';
import type { StreamId } from '../rpc/model.ts';
import type { CommitGate } from './commit-gate.ts';
import { addReason, capReason, type LogSql } from './log-sql.ts';
import type { LogWriter } from './log-types.ts';
import type { CommitNotifier } from './notifier.ts';

/** Sizes that bound the writer. */
export interface WriterLimits {
  /** Bytes kept per job; older output is removed beyond it. */
  capBytes: number;
  /** Largest chunk; never above capBytes. */
  maxChunkBytes: number;
  /** Queued bytes that trigger a commit at once rather than on the next turn of the event loop. */
  maxPendingBytes: number;
}

/** What a writer shares with the store that made it. */
export interface WriterContext {
  sql: LogSql;
  commit: CommitBatch;
  notifier: CommitNotifier;
  limits: WriterLimits;
  /** Told about every failed commit (the daemon logs it); must not throw, but is guarded anyway. */
  onWriteError: ((jobId: number, err: unknown) => void) | undefined;
  /** Called once when the writer closes. */
  onClose(jobId: number): void;
  /** Told the size of every committed batch (the checkpointer counts WAL growth); must not throw. */
  afterCommit(bytes: number): void;
  /** Held for a moment by the checkpointer so that the WAL can start over (commit-gate.ts). */
  gate: CommitGate;
}

/**
 * While a job streams output, its commits are at least this far apart: a fast producer's pipe reads
 * (64 KiB each) then share one transaction instead of one each — a commit costs the same few page
 * writes (the job's row, the B-tree leaf) whatever it carries, and those dominated ingest.
 */
export const COMMIT_INTERVAL_MS = 5;

/**
 * A commit at least this big means the job is streaming, and its next commit waits for the interval.
 * Smaller output (lines of an interactive program) still commits on the next turn of the event loop.
 */
export const STREAMING_BATCH_BYTES = 64 * 1024;

/**
 * While the commit gate is held, a writer queues up to this many times maxPendingBytes; beyond,
 * append() asks its producer to pause until the held commit has run (a hold lasts up to 250 ms).
 */
export const HELD_PENDING_FACTOR = 2;

/**
 * A producer that does not pause meets this many times maxPendingBytes queued while the gate is
 * held: the writer then waits for the checkpoint pass, blocking the event loop, because memory must
 * stay bounded. Blocking here for every job's flood was what held up every other follower (p99 of
 * a quiet job's follower 119–281 ms under a `yes` flood); the job's pipe is paused instead.
 */
export const HELD_BLOCKING_FACTOR = 4;

/** A job's log accounting, as in its row. */
interface Accounting {
  stored: number;
  dropped: number;
  reason: string | null;
  trimmedSeq: number;
}

/** A chunk ready to insert. */
interface ChunkRow {
  seq: number;
  stream: StreamId;
  at: number;
  pos: number;
  data: Buffer;
}

/** A chunk still being filled. */
interface PendingChunk {
  seq: number;
  stream: StreamId;
  at: number;
  pos: number;
  /** The chunk's bytes so far are buf[0, bytes): appends copy into it, growing it up to maxChunkBytes. */
  buf: Buffer;
  bytes: number;
}

/** The first buffer of a chunk that starts with a small append (a line): grown by doubling. */
const SMALL_CHUNK_BYTES = 4096;
/** An append at least this big means a streaming job: its chunk gets the whole maxChunkBytes at once. */
const STREAMING_APPEND_BYTES = 16 * 1024;

/** The commit transaction: inserts a batch, applies the cap, writes the job's accounting. */
export type CommitBatch = (jobId: number, rows: ChunkRow[], before: Accounting, capBytes: number) => Accounting;

/** Builds the commit transaction once per store. */
export function createCommitBatch(db: Database.Database, sql: LogSql): CommitBatch {
  // Chunks looked at per query while finding how much to remove for the cap.
  const TRIM_PAGE = 256;
  const body = (jobId: number, rows: ChunkRow[], before: Accounting, capBytes: number): Accounting => {
    let stored = before.stored;
    for (const r of rows) {
      sql.insertChunk.run(jobId, r.seq, r.stream, r.at, r.pos, r.data);
      stored += r.data.length;
    }
    let { dropped, reason, trimmedSeq } = before;
    if (stored > capBytes) {
      // Keep the latest output: remove whole chunks from the oldest until what is left fits.
      const excess = stored - capBytes;
      let removed = 0;
      let through = trimmedSeq;
      scan: for (;;) {
        const oldest = sql.oldest.all(jobId, through, TRIM_PAGE);
        for (const c of oldest) {
          removed += c.len;
          through = c.seq;
          if (removed >= excess) break scan;
        }
        if (oldest.length < TRIM_PAGE) break;
      }
      sql.deleteRange.run(jobId, trimmedSeq, through);
      stored -= removed;
      dropped += removed;
      trimmedSeq = through;
      reason = addReason(reason, capReason(capBytes));
    }
    const { changes } = sql.setAccounting.run(stored, dropped, reason, trimmedSeq, jobId);
    if (changes === 0) throw new JobctlError('NOT_FOUND', `job ${jobId} does not exist`, { details: { id: jobId } });
    return { stored, dropped, reason, trimmedSeq };
  };
  return db.transaction(body);
}

/**
 * Why a commit failed, as recorded in the job's drop reason. A full disk (SQLITE_FULL) and I/O
 * errors are the expected causes; anything else still must not stop the job, so it is recorded too.
 */
export function failureReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string' && (code.startsWith('SQLITE_FULL') || code.startsWith('SQLITE_IOERR'))) return `disk full: ${message}`;
  return `write failed: ${message}`;
}

/** The writer of one job's output. */
export class JobLogWriter implements LogWriter {
  readonly jobId: number;
  private readonly ctx: WriterContext;
  private acc: Accounting;
  private pending: PendingChunk[] = [];
  private pendingBytes = 0;
  private nextSeq: number;
  private nextPos: number;
  private committed = 0;
  /** Bytes of failed batches not yet counted in the job's row (the row could not be written either). */
  private unrecordedDropped = 0;
  private unrecordedReason: string | null = null;
  /**
   * The commit queued for later: on the next turn (immediate), when the interval is over (timer), or
   * when the commit gate opens (held).
   */
  private scheduled: { immediate: NodeJS.Immediate } | { timer: NodeJS.Timeout } | { held: true } | null = null;
  /** When the last commit ended (performance.now()); -Infinity before the first. */
  private lastCommitAt = Number.NEGATIVE_INFINITY;
  /** Bytes of the last commit: STREAMING_BATCH_BYTES or more, and the next one waits for the interval. */
  private lastBatchBytes = 0;
  private closed = false;
  /** The producer was asked to pause (append returned false): resolved at the next commit or close. */
  private drain: { promise: Promise<void>; resolve: () => void } | null = null;
  private readonly flushSoon = (): void => {
    this.scheduled = null;
    const gate = this.ctx.gate;
    if (gate.held) {
      if (this.streaming || gate.holdsAll) return this.waitForGate();
      gate.passing();
    }
    this.flush();
  };
  /** The gate opened: commit, unless a flush() since then made this wait moot. */
  private readonly afterHold = (): void => {
    if (this.scheduled !== null && 'held' in this.scheduled) this.flushSoon();
  };

  constructor(jobId: number, ctx: WriterContext) {
    this.jobId = jobId;
    this.ctx = ctx;
    const row = ctx.sql.accounting.get(jobId);
    if (row === undefined) throw new JobctlError('NOT_FOUND', `job ${jobId} does not exist`, { details: { id: jobId } });
    this.acc = { stored: row.log_stored_bytes, dropped: row.log_dropped_bytes, reason: row.log_drop_reason, trimmedSeq: row.log_trimmed_seq };
    // Continue after whatever is stored (a writer reopened for the same job never reuses a seq).
    const last = ctx.sql.last.get(jobId);
    this.committed = last?.seq ?? 0;
    this.nextSeq = Math.max(this.committed, this.acc.trimmedSeq) + 1;
    this.nextPos = Math.max(last?.end ?? 0, this.acc.stored + this.acc.dropped);
  }

  get storedBytes(): number {
    return this.acc.stored;
  }

  get droppedBytes(): number {
    return this.acc.dropped + this.unrecordedDropped;
  }

  get committedSeq(): number {
    return this.committed;
  }

  get dropReason(): string | null {
    return this.unrecordedReason === null ? this.acc.reason : addReason(this.acc.reason, this.unrecordedReason);
  }

  append(stream: StreamId, data: Buffer): boolean {
    if (this.closed || data.length === 0) return true;
    const max = this.ctx.limits.maxChunkBytes;
    let off = 0;
    while (off < data.length) {
      let chunk = this.pending.at(-1);
      if (chunk === undefined || chunk.stream !== stream || chunk.bytes >= max) {
        // One copy per byte (this one; SQLite's bind copies again): a streaming job's chunk is sized
        // for the largest chunk at once, a line's starts small.
        const size = data.length - off >= STREAMING_APPEND_BYTES ? max : Math.min(max, Math.max(SMALL_CHUNK_BYTES, data.length - off));
        chunk = { seq: this.nextSeq++, stream, at: Date.now(), pos: this.nextPos, buf: Buffer.allocUnsafe(size), bytes: 0 };
        this.pending.push(chunk);
      }
      const n = Math.min(max - chunk.bytes, data.length - off);
      if (chunk.bytes + n > chunk.buf.length) {
        const grown = Buffer.allocUnsafe(Math.min(max, Math.max(chunk.buf.length * 2, chunk.bytes + n)));
        chunk.buf.copy(grown, 0, 0, chunk.bytes);
        chunk.buf = grown;
      }
      data.copy(chunk.buf, chunk.bytes, off, off + n);
      chunk.bytes += n;
      off += n;
      this.nextPos += n;
      this.pendingBytes += n;
    }
    if (this.pendingBytes >= this.ctx.limits.maxPendingBytes) return this.flushOrHold();
    if (this.scheduled === null) {
      const wait = this.lastBatchBytes >= STREAMING_BATCH_BYTES ? this.lastCommitAt + COMMIT_INTERVAL_MS - performance.now() : 0;
      this.scheduled = wait > 0 ? { timer: setTimeout(this.flushSoon, wait) } : { immediate: setImmediate(this.flushSoon) };
    }
    return true;
  }

  /**
   * Whether this job streams output (its last commit or its queue is STREAMING_BATCH_BYTES or more):
   * only such commits wait for a held gate; a few lines go through at once.
   */
  private get streaming(): boolean {
    return this.lastBatchBytes >= STREAMING_BATCH_BYTES || this.pendingBytes >= STREAMING_BATCH_BYTES;
  }

  drained(): Promise<void> {
    return this.drain?.promise ?? Promise.resolve();
  }

  flush(): void {
    if (this.scheduled !== null) {
      if ('timer' in this.scheduled) clearTimeout(this.scheduled.timer);
      else if ('immediate' in this.scheduled) clearImmediate(this.scheduled.immediate);
      this.scheduled = null;
    }
    if (this.pending.length === 0) {
      this.resolveDrain();
      return;
    }
    const batch = this.pending;
    const batchBytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    const rows: ChunkRow[] = batch.map((c) => ({
      seq: c.seq,
      stream: c.stream,
      at: c.at,
      pos: c.pos,
      data: c.buf.subarray(0, c.bytes),
    }));
    let stored = false;
    try {
      this.acc = this.ctx.commit(this.jobId, rows, this.withUnrecorded(), this.ctx.limits.capBytes);
      this.unrecordedDropped = 0;
      this.unrecordedReason = null;
      this.committed = rows.at(-1)?.seq ?? this.committed;
      this.ctx.notifier.notify(this.jobId);
      stored = true;
    } catch (err) {
      this.dropBatch(batchBytes, err);
    }
    if (stored) {
      try {
        this.ctx.afterCommit(batchBytes);
      } catch {
        // The batch is stored: a failing hook must not count it as dropped.
      }
    }
    this.lastCommitAt = performance.now();
    this.lastBatchBytes = batchBytes;
    this.resolveDrain();
  }

  settle(): void {
    if (this.unrecordedReason === null) return;
    const acc = this.withUnrecorded();
    this.ctx.sql.setDropped.run(acc.dropped, acc.reason, this.jobId);
    this.acc = acc;
    this.unrecordedDropped = 0;
    this.unrecordedReason = null;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.ctx.onClose(this.jobId);
    // Followers waiting at the end re-check, find no writer, and finish.
    this.ctx.notifier.notify(this.jobId);
  }

  /**
   * A full queue: commits now, unless the gate is held. Then it commits at the opening, and past
   * the held limit asks the producer to pause (false); only a producer that ignores that and
   * reaches the blocking limit makes it wait for the pass, blocking.
   */
  private flushOrHold(): boolean {
    const gate = this.ctx.gate;
    const max = this.ctx.limits.maxPendingBytes;
    if (gate.held && this.pendingBytes < HELD_BLOCKING_FACTOR * max) {
      if (this.scheduled === null) this.waitForGate();
      if (this.pendingBytes < HELD_PENDING_FACTOR * max) return true;
      if (this.drain === null) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        this.drain = { promise, resolve };
        gate.paused();
      }
      return false;
    }
    if (gate.held) gate.waitOpen();
    this.flush();
    return true;
  }

  /** The queue has been committed (or dropped): a paused producer may go on. */
  private resolveDrain(): void {
    const drain = this.drain;
    this.drain = null;
    drain?.resolve();
  }

  /** Commits when the gate opens. */
  private waitForGate(): void {
    this.scheduled = { held: true };
    this.ctx.gate.whenOpen(this.afterHold);
  }

  /** The accounting with the drops the row has not been told about yet. */
  private withUnrecorded(): Accounting {
    if (this.unrecordedReason === null) return this.acc;
    return { ...this.acc, dropped: this.acc.dropped + this.unrecordedDropped, reason: addReason(this.acc.reason, this.unrecordedReason) };
  }

  /** A failed commit: the batch is lost (its seqs stay unused: followers see the hole as a gap). */
  private dropBatch(bytes: number, err: unknown): void {
    this.unrecordedDropped += bytes;
    this.unrecordedReason = addReason(this.unrecordedReason, failureReason(err));
    // Count it in the job's row now if a one-row update still fits; else the next commit (or settle) does.
    try {
      this.settle();
    } catch {
      // Still failing: keep the figures in memory and retry with the next batch.
    }
    try {
      this.ctx.onWriteError?.(this.jobId, err);
    } catch {
      // A faulty hook must not turn a dropped batch into a crash.
    }
  }
}
