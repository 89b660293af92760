// One running job: its process (started by jobctl-spawner), its cgroup, its output capture, and the
// way it ends. The Supervisor owns the bookkeeping; this file owns the OS side.
import type { Readable } from 'node:stream';
import type { JobCgroup } from '../cgroup/index.ts';
import type { Usage } from '../rpc/model.ts';
import type { LogWriter } from '../store/index.ts';
import { processEnded, processStartTime, processUsage } from './proc.ts';
import type { SpawnedExit, Spawner } from './spawner/spawner.ts';

/** How the main process ended, plus what the cgroup knew. */
export interface ProcessOutcome {
  /** Set when the command never ran (could not be placed, no cwd, exec failed), with the reason. */
  startError: string | null;
  /** Set when the exit status is unknown (the spawner died while the job ran), with the reason. */
  lost: string | null;
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
  spawner: Spawner;
}

/** How long pipes may stay open after every process of the job is gone (a process outside the cgroup could hold them). */
const PIPE_DRAIN_MS = 2000;

/** A job's process tree from spawn to cleanup. */
export class JobProcess {
  /** Resolves once the command runs inside its cgroups (true) or never will (false). */
  readonly placed: Promise<boolean>;
  /** Resolves once every process is gone, output is stored and the cgroup is removed. */
  readonly outcome: Promise<ProcessOutcome>;

  private readonly cgroup: JobCgroup | null;
  private readonly exit: Promise<SpawnedExit>;
  private readonly started: Promise<{ pid: number; error: string | null }>;
  /** The output pipes and a promise of each one's close, once the process exists. */
  private readonly pipes: Promise<Array<{ stream: Readable; closed: Promise<void> }>>;
  private stopping: Promise<void> | null = null;
  /** When the running stop kills what is left: the earliest deadline any stop asked for. */
  private killAt = Infinity;
  /** Re-arms the running stop's kill timer after a later stop brought killAt forward. */
  private rearmKill: (() => void) | null = null;
  private exited = false;
  private mainPid = 0;
  private mainStartTime: string | null = null;

  /**
   * True once the main process has exited (or never started) — also in the moment between the
   * spawner reaping it and its EXITED event reaching us, when only /proc can tell.
   */
  get hasExited(): boolean {
    return this.exited || (this.mainPid > 0 && processEnded(this.mainPid, this.mainStartTime));
  }

  /** The main process's PID once placement is settled; 0 before, and when no process was made. */
  get pid(): number {
    return this.mainPid;
  }

  /** The main process's start time (/proc, clock ticks since boot), read at placement; null when unknown. */
  get pidStartTime(): string | null {
    return this.mainStartTime;
  }

  /** Sends the start to the spawner; throws (RangeError) only for a request too large to send. */
  constructor(options: JobProcessOptions) {
    this.cgroup = options.cgroup;
    const writer = options.writer;
    const spawned = options.spawner.spawn({ argv: options.argv, cwd: options.cwd, env: options.env, procsFiles: options.cgroup?.procsFiles ?? [] }, (stream, data) =>
      // The writer copies the bytes into its chunk (one copy). false: its queue is full while the
      // store holds commits for a checkpoint, so the pipe waits (the job blocks, not the daemon).
      writer.append(stream, data) ? undefined : writer.drained(),
    );
    this.exit = spawned.exit;
    void this.exit.then(() => {
      this.exited = true;
    });
    this.started = spawned.started.then((s) => {
      // 0 when no process was made: never a signal target (kill(-0) would be our own group).
      this.mainPid = s.pid > 0 ? s.pid : 0;
      // Read now (a fast command may be gone already: null) to tell our process from a reused PID.
      this.mainStartTime = this.mainPid > 0 ? processStartTime(this.mainPid) : null;
      return s;
    });
    this.placed = this.started.then((s) => s.error === null);
    this.pipes = spawned.pipes.then((pipes) =>
      (pipes ?? []).map((stream) => {
        // A read error (never expected on a pipe) ends the capture like EOF does.
        stream.on('error', () => undefined);
        return { stream, closed: closed(stream) };
      }),
    );
    this.outcome = this.finish();
  }

  /** Live usage: from the cgroup (whole job) or, without one, from the main process. */
  usage(): Usage {
    if (this.cgroup) {
      const s = this.cgroup.stats();
      return { cpuUsec: s.cpuUsec, memoryBytes: s.memoryBytes, memoryPeakBytes: s.memoryPeakBytes, pids: s.pids };
    }
    const p = this.exited || this.mainPid === 0 ? null : processUsage(this.mainPid);
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
    // Until the spawner's child has joined the cgroups the job's cgroup is empty: a SIGTERM sent now
    // would reach nobody and the command would run on. Placement takes milliseconds; a child that
    // fails to place itself exits by itself.
    const placed = await Promise.race([this.placed, this.exit.then(() => false)]);
    if (!placed) return;
    if (this.cgroup) this.cgroup.signal('SIGTERM');
    else signalGroup(this.mainPid, 'SIGTERM');
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
    else signalGroup(this.mainPid, 'SIGKILL');
  }

  private async finish(): Promise<ProcessOutcome> {
    const ended = await this.exit;
    const cleanupErrors: string[] = [];
    // A job ends when its main process ends: a stop in progress keeps its grace period for the rest;
    // otherwise whatever the command left behind (daemonised children included) is killed now.
    try {
      if (this.stopping) await this.stopping;
      if (this.cgroup) await this.cgroup.killAll();
      else signalGroup(this.mainPid, 'SIGKILL');
    } catch (err) {
      cleanupErrors.push((err as Error).message);
    }
    const pipes = await this.pipes;
    await Promise.race([Promise.all(pipes.map((p) => p.closed)), delay(PIPE_DRAIN_MS)]);
    for (const { stream } of pipes) stream.destroy();
    const { error: startError } = await this.started;
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
    return {
      startError,
      lost: startError === null ? ended.lost : null,
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

function closed(stream: Readable | null | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!stream || stream.destroyed) return resolve();
    stream.once('close', () => resolve());
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
