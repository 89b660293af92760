// The daemon's side of jobctl-spawner: one long-lived helper process that forks and execs every job
// (why: see the C source). Requests go down its stdin, events come up its stdout. A job's output
// pipes are made by the spawner; the daemon takes its own read end of each by opening
// /proc/<spawner>/fd/<n> (opening a pipe there opens the same pipe, as a FIFO opens) and then tells the
// spawner to close its copies. The same user owns both processes, so /proc lets the parent in.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import {
  EV_EXITED,
  EV_FAILED,
  EV_SPAWNED,
  EV_STARTED,
  EventReader,
  decodeWaitStatus,
  describeFailure,
  encodeOpened,
  encodeSpawn,
  type SpawnRequest,
  type SpawnerEvent,
} from './protocol.ts';

/** How a started command ran its course. */
export interface SpawnedExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the spawner died before reporting the exit: the status is unknown. */
  lost: string | null;
}

/** One job's process as the spawner made it. */
export interface SpawnedProcess {
  /** Resolves once the command runs inside its cgroups (error null), or certainly never will (error set; pid 0 when no process was made). */
  readonly started: Promise<{ pid: number; error: string | null }>;
  /** The job's stdout and stderr (read ends), once the process exists; null when none was made. */
  readonly pipes: Promise<[Readable, Readable] | null>;
  /** Resolves once the process has exited and been reaped (also after a failed start that made a process). */
  readonly exit: Promise<SpawnedExit>;
}

interface Pending {
  /** What a failure message names (not the whole argv and env: they may be large, and live as long as the job). */
  request: Pick<SpawnRequest, 'cwd' | 'procsFiles'> & { argv: readonly string[] };
  sink: OutputSink | undefined;
  pid: number;
  /** Why the job's output could not be taken over, when that happened. */
  pipeError: string | null;
  resolveStarted: (value: { pid: number; error: string | null }) => void;
  resolvePipes: (value: [Readable, Readable] | null) => void;
  resolveExit: (value: SpawnedExit) => void;
}

/** Token numbers are i32 on the wire. */
const MAX_TOKEN = 0x7fffffff;
/** How long close() waits for the spawner to leave before it kills it. */
const CLOSE_TIMEOUT_MS = 2000;

/**
 * Receives the bytes of one read of a job's stdout (1) or stderr (2). A promise returned means
 * "no more for now": that pipe is not read until it settles (the job blocks on its next write once
 * the pipe is full), which is how the log writer slows a flooding job down without blocking the
 * daemon's event loop.
 */
export type OutputSink = (stream: 1 | 2, data: Buffer) => void | Promise<void>;

/** One jobctl-spawner process and the jobs it started. */
export class Spawner {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private readonly reader = new EventReader();
  private readonly exited: Promise<void>;
  private nextToken = 1;
  private closing = false;
  private deathReason: string | null = null;

  /** Starts the spawner program at file; onDeath hears of an unexpected end (its jobs' exits are then unknown). */
  constructor(file: string, onDeath?: (reason: string) => void) {
    // detached: its own session, so a terminal's Ctrl-C to a foreground daemon does not kill it too
    // (the daemon stops the jobs itself and needs their exit statuses). argv[1] lets it check it
    // still has its parent once it has asked the kernel to kill it with the daemon.
    this.child = spawn(file, [String(process.pid)], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    this.child.stdin?.on('error', () => undefined); // EPIPE after an unexpected death: handled on 'exit'
    this.child.stdout?.on('data', (chunk: Buffer) => {
      for (const event of this.reader.push(chunk)) this.dispatch(event);
    });
    this.exited = new Promise((resolve) => {
      const end = (how: string): void => {
        if (this.deathReason === null) {
          this.deathReason = `jobctl-spawner (pid ${this.child.pid ?? '?'}, ${file}) ${how}`;
          if (!this.closing) onDeath?.(this.deathReason);
        }
        this.failAll(this.deathReason);
        resolve();
      };
      this.child.once('error', (err) => end(`could not run: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      // 'close', not 'exit': events still in its stdout pipe at its death are read first (an EXITED
      // written just before would be lost otherwise).
      this.child.once('close', (code, signal) => end(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    });
  }

  /** False once the spawner has ended: a new one is needed for new jobs. */
  get alive(): boolean {
    return this.deathReason === null && !this.closing;
  }

  /**
   * Starts request; the promises of the result tell how it goes. With a sink, the job's output goes
   * there (and the pipes emit no 'data'); without, read the pipes as streams.
   */
  spawn(request: SpawnRequest, sink?: OutputSink): SpawnedProcess {
    const token = this.nextToken;
    this.nextToken = token === MAX_TOKEN ? 1 : token + 1;
    let pending!: Pending;
    const started = new Promise<{ pid: number; error: string | null }>((resolveStarted) => {
      pending = { request: { cwd: request.cwd, procsFiles: request.procsFiles, argv: request.argv.slice(0, 1) }, sink, pid: 0, pipeError: null, resolveStarted, resolvePipes: () => undefined, resolveExit: () => undefined };
    });
    const pipes = new Promise<[Readable, Readable] | null>((resolve) => (pending.resolvePipes = resolve));
    const exit = new Promise<SpawnedExit>((resolve) => (pending.resolveExit = resolve));
    if (!this.alive) {
      const reason = this.deathReason ?? 'the spawner is shutting down';
      pending.resolveStarted({ pid: 0, error: reason });
      pending.resolvePipes(null);
      pending.resolveExit({ code: null, signal: null, lost: null });
      return { started, pipes, exit };
    }
    // Throws (RangeError) for a request over the spawner's limit: nothing was sent, nothing runs.
    const frame = encodeSpawn(token, request);
    this.pending.set(token, pending);
    this.child.stdin?.write(frame);
    return { started, pipes, exit };
  }

  /** Ends the spawner (its stdin closes); jobs still running lose their exit status. */
  async close(): Promise<void> {
    this.closing = true;
    this.child.stdin?.end();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        if (this.child.pid) process.kill(this.child.pid, 'SIGKILL');
        resolve();
      }, CLOSE_TIMEOUT_MS);
    });
    await Promise.race([this.exited, late]);
    clearTimeout(timer);
    await this.exited;
  }

  private dispatch(event: SpawnerEvent): void {
    const p = this.pending.get(event.token);
    if (!p) return;
    switch (event.type) {
      case EV_SPAWNED:
        p.pid = event.pid;
        p.resolvePipes(this.takePipes(event, p));
        break;
      case EV_STARTED:
        p.resolveStarted({ pid: event.pid, error: p.pipeError });
        break;
      case EV_FAILED:
        p.resolveStarted({ pid: event.pid, error: describeFailure(event, p.request) });
        if (event.pid === 0) {
          // No process was made: nothing else will come for this token.
          p.resolvePipes(null);
          p.resolveExit({ code: null, signal: null, lost: null });
          this.pending.delete(event.token);
        }
        break;
      case EV_EXITED:
        p.resolveExit({ ...decodeWaitStatus(event.a), lost: null });
        this.pending.delete(event.token);
        break;
    }
  }

  /** Opens the daemon's own read ends of the job's pipes, then lets the spawner close its copies. */
  private takePipes(event: SpawnerEvent, p: Pending): [Readable, Readable] | null {
    const fds: number[] = [];
    try {
      // O_NONBLOCK: a FIFO-style open for reading never waits for a writer (the job may be gone).
      // Node opens every file O_CLOEXEC, so no later child inherits them.
      for (const n of [event.a, event.b]) fds.push(openSync(`/proc/${this.child.pid}/fd/${n}`, constants.O_RDONLY | constants.O_NONBLOCK));
    } catch (err) {
      for (const fd of fds) closeSync(fd);
      p.pipeError = `could not take over the job's output pipes: ${(err as Error).message}`;
      // The command must not run unseen: it dies now (its cgroup, if any, is killed later). The pid
      // first: SPAWNED comes right after fork, maybe before the child's setsid made the group. It is
      // the spawner's unreaped child, so the pid cannot have been reused yet.
      for (const target of [event.pid, -event.pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      return null;
    } finally {
      this.child.stdin?.write(encodeOpened(event.token));
    }
    const streams = fds.map((fd) => new Socket({ fd, readable: true, writable: false })) as [Socket, Socket];
    // Plain 'data' events: a fresh buffer per read (libuv reads a ready pipe 64 KiB at a time, up to
    // 32 reads a turn). A shared `onread` buffer larger than a read made libuv stop after one read a
    // turn (a job writing 50 MB/s stalled under 100 followers); a 64 KiB one measured no faster.
    const sink = p.sink;
    if (sink) {
      streams.forEach((stream, i) =>
        stream.on('data', (data: Buffer) => {
          const later = sink(i === 0 ? 1 : 2, data);
          if (later === undefined) return;
          // Reading stops once the stream's small buffer is full: at most one more read is held.
          stream.pause();
          void later.then(() => stream.resume());
        }),
      );
    }
    return streams;
  }

  private failAll(reason: string): void {
    for (const [token, p] of this.pending) {
      p.resolveStarted({ pid: p.pid, error: p.pid === 0 ? reason : null });
      p.resolvePipes(null);
      p.resolveExit({ code: null, signal: null, lost: `${reason} while the job ran; its exit status is unknown` });
      this.pending.delete(token);
    }
  }
}
