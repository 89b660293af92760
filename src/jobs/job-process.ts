// One running job: its process (spawned through the trampoline), its cgroup, its output capture, and
// the way it ends. The Supervisor owns the bookkeeping; this file owns the OS side.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { JobCgroup } from '../cgroup/index.ts';
import type { Usage } from '../rpc/model.ts';
import type { LogWriter } from '../store/index.ts';
import { processUsage } from './proc.ts';
import { PLACEMENT_FAILED_EXIT, trampolineCommand } from './trampoline.ts';

/** How the main process ended, plus what the cgroup knew. */
export interface ProcessOutcome {
  /** Set when the command never ran: spawn error or placement failure, with the reason. */
  startError: string | null;
  exitCode: number | null;
  signal: string | null;
  oomKilled: boolean;
  cpuUsec: number | null;
  memoryPeakBytes: number | null;
  /** Problems met while cleaning up (e.g. a cgroup that could not be removed); logged, not fatal. */
  cleanupErrors: string[];
}

/** What a JobProcess needs to run. */
export interface JobProcessOptions {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  cgroup: JobCgroup | null;
  writer: LogWriter;
}

/** How long pipes may stay open after every process of the job is gone (a process outside the cgroup could hold them). */
const PIPE_DRAIN_MS = 2000;

/** A job's process tree from spawn to cleanup. */
export class JobProcess {
  readonly pid: number;
  /** Resolves once the command runs inside its cgroups (true) or never will (false). */
  readonly placed: Promise<boolean>;
  /** Resolves once every process is gone, output is stored and the cgroup is removed. */
  readonly outcome: Promise<ProcessOutcome>;

  private readonly child: ChildProcess;
  private readonly cgroup: JobCgroup | null;
  private stopping: Promise<void> | null = null;
  private exited = false;

  constructor(options: JobProcessOptions) {
    const { file, args } = trampolineCommand(options.cgroup?.procsFiles ?? [], options.argv);
    this.cgroup = options.cgroup;
    // detached: the job gets its own session, so a terminal's Ctrl-C to the daemon never reaches it and
    // the process group is a fallback handle when there are no cgroups.
    this.child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'], detached: true });
    // Listeners are attached synchronously right after spawn: exit events were lost when attached later.
    const exit = new Promise<{ code: number | null; signal: string | null; error: string | null }>((resolve) => {
      this.child.once('exit', (code, signal) => resolve({ code, signal, error: null }));
      this.child.once('error', (err) => resolve({ code: null, signal: null, error: `${(err as NodeJS.ErrnoException).code ?? 'ERROR'}: ${err.message}` }));
    });
    this.pid = this.child.pid ?? -1;
    const stdout = this.child.stdio[1] as Readable;
    const stderr = this.child.stdio[2] as Readable;
    stdout.on('data', (data: Buffer) => options.writer.append(1, data));
    stderr.on('data', (data: Buffer) => options.writer.append(2, data));
    const placement = readAll(this.child.stdio[3] as Readable);
    this.placed = placement.then((text) => text === 'ok');
    this.outcome = this.finish(exit, placement, [closed(stdout), closed(stderr)]);
  }

  /** Live usage: from the cgroup (whole job) or, without one, from the main process. */
  usage(): Usage {
    if (this.cgroup) {
      const s = this.cgroup.stats();
      return { cpuUsec: s.cpuUsec, memoryBytes: s.memoryBytes, memoryPeakBytes: s.memoryPeakBytes, pids: s.pids };
    }
    const p = this.exited ? null : processUsage(this.pid);
    return { cpuUsec: p?.cpuUsec ?? 0, memoryBytes: p?.rssBytes ?? 0, memoryPeakBytes: null, pids: p ? 1 : 0 };
  }

  /** SIGTERM to every process, up to graceMs for all to exit, then kill everything left. Idempotent. */
  stop(graceMs: number): Promise<void> {
    this.stopping ??= this.terminate(graceMs);
    return this.stopping;
  }

  private async terminate(graceMs: number): Promise<void> {
    if (this.cgroup) {
      this.cgroup.signal('SIGTERM');
      const empty = graceMs > 0 ? await this.cgroup.waitEmpty(graceMs) : false;
      if (!empty) await this.cgroup.killAll();
      return;
    }
    signalGroup(this.pid, 'SIGTERM');
    if (!(await this.exitedWithin(graceMs))) signalGroup(this.pid, 'SIGKILL');
  }

  private exitedWithin(ms: number): Promise<boolean> {
    if (this.exited) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private async finish(
    exit: Promise<{ code: number | null; signal: string | null; error: string | null }>,
    placement: Promise<string>,
    pipes: Promise<void>[],
  ): Promise<ProcessOutcome> {
    const ended = await exit;
    this.exited = true;
    const cleanupErrors: string[] = [];
    // A job ends when its main process ends: a stop in progress keeps its grace period for the rest;
    // otherwise whatever the command left behind (daemonised children included) is killed now.
    try {
      if (this.stopping) await this.stopping;
      if (this.cgroup) await this.cgroup.killAll();
      else signalGroup(this.pid, 'SIGKILL');
    } catch (err) {
      cleanupErrors.push((err as Error).message);
    }
    await Promise.race([Promise.all(pipes), delay(PIPE_DRAIN_MS)]);
    for (const stream of this.child.stdio) stream?.destroy();
    const placementText = await placement;
    let stats = null;
    if (this.cgroup) {
      // Read before removal: the OOM counter lives in the job's own cgroup.
      try {
        stats = this.cgroup.stats();
      } catch (err) {
        cleanupErrors.push((err as Error).message);
      }
      try {
        await this.cgroup.remove();
      } catch (err) {
        cleanupErrors.push((err as Error).message);
      }
    }
    let startError = ended.error;
    if (startError === null && placementText !== 'ok') {
      startError = placementText.trim() || `placement failed: trampoline exited with ${ended.code ?? ended.signal} before running the command`;
      if (ended.code !== PLACEMENT_FAILED_EXIT && placementText === '') startError = `could not start: ${startError}`;
    }
    return {
      startError,
      exitCode: ended.code,
      signal: ended.signal,
      oomKilled: (stats?.oomKills ?? 0) > 0,
      cpuUsec: stats?.cpuUsec ?? null,
      memoryPeakBytes: stats?.memoryPeakBytes ?? null,
      cleanupErrors,
    };
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function readAll(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    stream.on('data', (d: Buffer) => parts.push(d));
    stream.once('close', () => resolve(Buffer.concat(parts).toString('utf8')));
    stream.once('error', () => resolve(Buffer.concat(parts).toString('utf8')));
  });
}

function closed(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) resolve();
    stream.once('close', () => resolve());
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
