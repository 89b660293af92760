// One running job: its process (spawned through the trampoline), its cgroup, its output capture, and
// the way it ends. The Supervisor owns the bookkeeping; this file owns the OS side.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
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
  private readonly exit: Promise<{ code: number | null; signal: string | null; error: string | null }>;
  private stopping: Promise<void> | null = null;
  /** When the running stop kills what is left: the earliest deadline any stop asked for. */
  private killAt = Infinity;
  /** Re-arms the running stop's kill timer after a later stop brought killAt forward. */
  private rearmKill: (() => void) | null = null;
  private exited = false;

  /** True once the main process has exited (or never started). */
  get hasExited(): boolean {
    return this.exited;
  }

  constructor(options: JobProcessOptions) {
    const { file, args, env } = trampolineCommand(options.cgroup?.procsFiles ?? [], options.argv, options.env);
    this.cgroup = options.cgroup;
    // detached: the job gets its own session, so a terminal's Ctrl-C to the daemon never reaches it and
    // the process group is a fallback handle when there are no cgroups. spawn() itself throws for some
    // failures (E2BIG, a bad argument): the caller records the job as failed then.
    this.child = spawn(file, args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'], detached: true });
    // Listeners are attached synchronously right after spawn: exit events were lost when attached later.
    this.exit = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve({ code, signal, error: null }));
      this.child.once('error', (err) => resolve({ code: null, signal: null, error: spawnFailure(err as NodeJS.ErrnoException, options.cwd) }));
    });
    void this.exit.then(() => {
      this.exited = true;
    });
    // 0 when the spawn failed (no process): never a signal target (kill(-0) would be our own group).
    this.pid = this.child.pid ?? 0;
    // When the spawn fails early (EMFILE, EAGAIN) Node gives the child no pipes at all.
    const [, stdout, stderr, channel] = (this.child.stdio ?? []) as Array<Readable | null | undefined>;
    stdout?.on('data', (data: Buffer) => options.writer.append(1, data));
    stderr?.on('data', (data: Buffer) => options.writer.append(2, data));
    const placement = channel ? readAll(channel) : Promise.resolve('');
    this.placed = placement.then((text) => text === 'ok');
    this.outcome = this.finish(placement, [closed(stdout), closed(stderr)]);
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

  /**
   * SIGTERM to every process, up to graceMs for all to exit, then kill everything left. A stop while
   * one runs joins it, and a shorter grace brings the kill forward (`stop --grace 0` after a long one).
   */
  stop(graceMs: number): Promise<void> {
    const killAt = Date.now() + graceMs;
    if (killAt < this.killAt) {
      this.killAt = killAt;
      this.rearmKill?.();
    }
    this.stopping ??= this.terminate();
    return this.stopping;
  }

  private async terminate(): Promise<void> {
    // Until the trampoline has joined the cgroups the job's cgroup is empty: a SIGTERM sent now would
    // reach nobody and the command would run on. Placement takes milliseconds; a trampoline that
    // fails to place itself exits by itself.
    const placed = await Promise.race([this.placed, this.exit.then(() => false)]);
    if (!placed) return;
    if (this.cgroup) this.cgroup.signal('SIGTERM');
    else signalGroup(this.pid, 'SIGTERM');
    const gone = this.cgroup ? this.cgroup.waitEmpty() : this.exit.then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => {
      this.rearmKill = () => {
        clearTimeout(timer);
        timer = setTimeout(() => resolve(false), Math.max(0, this.killAt - Date.now()));
      };
      this.rearmKill();
    });
    const empty = await Promise.race([gone, deadline]);
    clearTimeout(timer);
    this.rearmKill = null;
    if (empty) return;
    if (this.cgroup) await this.cgroup.killAll();
    else signalGroup(this.pid, 'SIGKILL');
  }

  private async finish(placement: Promise<string>, pipes: Promise<void>[]): Promise<ProcessOutcome> {
    const ended = await this.exit;
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
    for (const stream of this.child.stdio ?? []) stream?.destroy();
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
  // kill(-pid) with pid 0 or less would signal our own group or, as root, every process there is.
  if (!(pid > 0)) return;
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

/**
 * The reason of a failed spawn. The trampoline is /bin/sh, so an ENOENT from spawn names /bin/sh even
 * when the job's cwd is what went missing since the preflight check: name the cwd then.
 */
function spawnFailure(err: NodeJS.ErrnoException, cwd: string): string {
  if (err.code === 'ENOENT' && !existsSync(cwd)) return `cwd ${JSON.stringify(cwd)}: ENOENT: no such file or directory`;
  return `${err.code ?? 'ERROR'}: ${err.message}`;
}

function closed(stream: Readable | null | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!stream || stream.destroyed) return resolve();
    stream.once('close', () => resolve());
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
