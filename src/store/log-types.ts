// The shapes of stored output, shared by the writer, the readers and the follower.
import type { StreamId } from '../rpc/model.ts';

/** One stored piece of a job's output: bytes of one stream, in the job's single sequence. */
export interface LogChunk {
  /** Position in the job's output, across both streams; starts at 1, ascending. */
  seq: number;
  stream: StreamId;
  /** Epoch ms of the first byte of the chunk. */
  at: number;
  data: Buffer;
}

/**
 * What a follower yields: a chunk, or the explicit marker of output that is no longer (or never
 * was) stored — removed by the per-job cap, or lost to a failed write such as a full disk.
 * `droppedBytes` counts bytes of both streams. `upperBound`: the exact count cannot be known (the
 * follower resumed after a chunk that is gone too, and gave no `afterPos`): droppedBytes is the most
 * that can be missing, and may include output the reader already had; the reason says so too.
 */
export type LogItem = { kind: 'chunk'; chunk: LogChunk } | { kind: 'gap'; droppedBytes: number; reason: string; upperBound?: true };

/** Paging through stored chunks. */
export interface LogReadQuery {
  /** Only chunks with a larger seq (default 0: from the start). */
  afterSeq?: number;
  /** At most this many chunks (default 64). */
  limit?: number;
  /** Stop after the chunk that reaches this many bytes (default 1 MiB; at least one chunk is returned). */
  maxBytes?: number;
  /** Only these streams (default both). */
  streams?: StreamId[];
}

/** Where and how to follow a job's output. */
export interface LogFollowQuery {
  /** Replay chunks after this seq (default 0: from the first byte). */
  afterSeq?: number;
  /**
   * Where the output the caller already has ends, as a byte position across both streams (the end
   * of chunk afterSeq: its pos plus its length). Only needed when that chunk may have been removed
   * since (the cap): it makes the gap's count exact instead of an upper bound.
   */
  afterPos?: number;
  /** Only these streams (default both). */
  streams?: StreamId[];
  /** Ends the iteration (without an error) as soon as it fires. */
  signal?: AbortSignal;
  /**
   * false: replay only what is stored when follow() is called, then end, even while the writer is
   * open (`logs` without -f). Default true.
   */
  live?: boolean;
  /**
   * With live false: end after this seq instead of at the end stored at the call — a
   * {@link LogStore.lastSeq} taken when the request came in, so that what the writer commits while
   * the request is prepared (a tail lookup spans turns of the event loop) is not replayed.
   */
  endSeq?: number;
}

/** Where one stream's part of a tail begins. */
export interface TailStart {
  stream: StreamId;
  /**
   * The chunk of this stream that holds the first wanted byte; the stream's earlier chunks are not
   * part of the tail. 0: from the stream's first chunk.
   */
  seq: number;
  /** Bytes of that chunk before the first wanted byte (its whole length when the tail starts after it). */
  skip: number;
}

/** The last N lines of each wanted stream, counted up to an end point. */
export interface LogTail {
  /** The last seq the lines were counted up to (0 for an empty log). */
  endSeq: number;
  /**
   * Read after this seq to reach every stream's start: one less than the earliest start (for a stream
   * with fewer lines than asked, its oldest chunk), never below 0; endSeq when no wanted stream has output.
   */
  afterSeq: number;
  /** One entry per wanted stream. */
  starts: TailStart[];
}

/** How to look up a tail. */
export interface LogTailQuery {
  /** Only these streams (default both); each gets its own last N lines. */
  streams?: StreamId[];
  /** Count lines up to this seq (default: the last stored now). */
  endSeq?: number;
  /** Stops the lookup (it rejects with the signal's reason, or an UNAVAILABLE error). */
  signal?: AbortSignal;
}

/** Stores and serves the output of jobs. */
export interface LogStore {
  /** Opens the job's one writer. CONFLICT when the job already has one, NOT_FOUND for an unknown job. */
  writer(jobId: number): LogWriter;
  /** Stored chunks in ascending seq, one page at a time. An unknown job has none. */
  read(jobId: number, q?: LogReadQuery): LogChunk[];
  /** The seq of the job's last stored chunk now (0 when none): an end point for a later tail or replay. */
  lastSeq(jobId: number): number;
  /**
   * Where the last `lines` lines of each wanted stream begin, counting up to `endSeq`. Lines are
   * counted per stream: a line ends at a newline of its own stream, so the other stream's chunks
   * inside it do not split it; unterminated output at the end counts as a line. Reads backwards,
   * and spreads the reading over turns of the event loop (a bounded number of bytes per turn,
   * shared by every lookup in the process), so a huge `lines` on a huge log never stalls the
   * process. Use {@link tailPart} to cut chunks to it.
   */
  tail(jobId: number, lines: number, q?: LogTailQuery): Promise<LogTail>;
  /**
   * Replays the output after `afterSeq`, then waits for new commits while the job's writer is open;
   * ends at the end of the output once no writer is open (or the store closes). Pull-based: it
   * reads the next page only when the consumer asks, so a slow consumer costs one page of memory.
   * A hole in the output (cap, failed write) is announced by one `gap` item before the next chunk.
   * Commits are seen only from writers in this process.
   */
  follow(jobId: number, q?: LogFollowQuery): AsyncIterableIterator<LogItem>;
  /** True while a writer is open for the job. */
  isLive(jobId: number): boolean;
  /** Deletes the job's stored output (its row says 0 bytes stored). CONFLICT while a writer is open. */
  deleteJobLogs(jobId: number): void;
}

/** Appends one job's output. Created by {@link LogStore.writer}. */
export interface LogWriter {
  readonly jobId: number;
  /**
   * Queues bytes; never throws. Consecutive appends to one stream share a chunk (up to the
   * maximum chunk size); everything queued commits in one transaction on the next turn of the
   * event loop (setImmediate) — or, while the job streams (the previous commit held at least
   * STREAMING_BATCH_BYTES), COMMIT_INTERVAL_MS after the previous commit — or at once when a lot is
   * queued; while the store holds commits so that its WAL can start over, a few ms later. The
   * bytes are copied at once: the caller may reuse `data`.
   *
   * Returns false when the queue has outgrown what a hold may keep: the producer should stop until
   * {@link drained} resolves (the job's pipe is paused: the job blocks on its own write, while the
   * daemon's event loop serves everyone else). A producer that goes on anyway is blocked for the
   * rest of the hold once the queue reaches twice that, so that memory stays bounded.
   */
  append(stream: StreamId, data: Buffer): boolean;
  /** Resolves once the queue has been committed (or the writer closed): at once when append() last returned true. */
  drained(): Promise<void>;
  /** Commits what is queued now. Never throws: a failed commit drops the batch and counts it. */
  flush(): void;
  /** Flushes and closes; followers finish once they reach the end. Appends after close are ignored. */
  close(): void;
  /**
   * Writes into the job's row the drops that failed commits could not count there yet (a full disk);
   * throws while that still fails. A no-op when none are pending; also works after close().
   */
  settle(): void;
  /** Bytes stored for the job now (after the cap). */
  readonly storedBytes: number;
  /** Bytes dropped so far (cap, failed writes), including drops the job's row could not be told yet (disk full). */
  readonly droppedBytes: number;
  /** Why output was dropped (each cause once, joined by "; "), or null; like droppedBytes, ahead of the row. */
  readonly dropReason: string | null;
  /** The highest seq committed (0 before the first commit). */
  readonly committedSeq: number;
}
