// The supervisor: starts jobs, tracks them to their end, stops them, and keeps the database honest.
// It is the library the daemon calls; it knows nothing of clients or the network.
import type { CgroupHost } from '../cgroup/index.ts';
import { JobctlError, invalidArgument, isJobctlError } from '../rpc/errors.ts';
import type { JobInfo, JobSpec, JobState, Limits, Usage } from '../rpc/model.ts';
import { LIMIT_NAMES } from '../rpc/model.ts';
import { limitFields } from '../rpc/fields.ts';
import { wireAmount } from '../rpc/ranges.ts';
import type { JobResult, JobRow, LogWriter, Store } from '../store/index.ts';
import { toJobInfo } from './job-info.ts';
import { JobProcess } from './job-process.ts';
import { preflight } from './preflight.ts';
import { processStartTime } from './proc.ts';
import { validateJobSpec } from './spec.ts';
import { Spawner } from './spawner/spawner.ts';
import { spawnerFile } from './spawner/spawner-file.ts';

/** How the supervisor runs jobs. */
export interface SupervisorOptions {
  store: Store;
  /** null when the host has no usable cgroups: jobs then run in a process group, and limits are refused. */
  cgroups: CgroupHost | null;
  /** Limits applied when a job does not set them. */
  defaultLimits?: Limits;
  /** Upper bounds a job may request. */
  maxLimits?: Limits;
  /** Grace period of a stop when the caller gives none (default 10 s). */
  defaultGraceMs?: number;
  /** Called for every problem that is not any caller's fault (e.g. a cgroup that would not go away). */
  onWarning?: (message: string) => void;
  /** The jobctl-spawner program (default: found next to the bundle, or embedded in the executable). */
  spawnerFile?: string;
}

/** How often the end of a job is retried when the database refuses it (a full disk). */
const END_RETRY_MS = 1000;
/** Retries left once the daemon is shutting down (it then exits; the next start marks the job lost). */
const END_RETRIES_AT_SHUTDOWN = 3;

/** Receives a job each time its state or result changes. */
export type JobListener = (job: JobInfo) => void;

interface Running {
  process: JobProcess;
  writer: LogWriter;
  done: Promise<JobRow>;
  stopRequested: boolean;
}

/** Starts, tracks, stops and reconciles jobs. */
export class Supervisor {
  private readonly store: Store;
  private readonly cgroups: CgroupHost | null;
  private readonly running = new Map<number, Running>();
  private readonly listeners = new Set<JobListener>();
  private readonly options: SupervisorOptions;
  private closing = false;
  private spawnerProcess: Spawner | null = null;
  private readonly spawnerPath: string;

  constructor(options: SupervisorOptions) {
    this.options = options;
    this.store = options.store;
    this.cgroups = options.cgroups;
    // Found (or, in the single executable, unpacked) now: a daemon that could start no job should
    // not start at all, and should say why.
    this.spawnerPath = options.spawnerFile ?? spawnerFile();
  }

  /**
   * Makes the database tell the truth after a daemon restart: every job it says is running becomes
   * `lost`, and whatever is left of it (processes, cgroups) is killed and removed. Call once, first.
   */
  async reconcile(): Promise<JobInfo[]> {
    let leftovers: string[] = [];
    try {
      leftovers = this.cgroups ? await this.cgroups.cleanupLeftovers() : [];
    } catch (err) {
      // A leftover that will not die (a process in uninterruptible sleep) must not keep the daemon
      // from starting: say so, and still mark every job lost below.
      this.warn(`${(err as Error).message}; the daemon starts anyway`);
    }
    const lost: JobInfo[] = [];
    for (const row of this.store.jobs.running()) {
      const cleanedByCgroup = row.cgroupKey !== null && leftovers.includes(row.cgroupKey);
      if (!cleanedByCgroup && row.pid !== null && row.pidStartTime !== null && processStartTime(row.pid) === row.pidStartTime) {
        // Same PID and same start time: it is our process, not a reused PID. Without a cgroup the
        // process group is all we can reach.
        for (const target of [-row.pid, row.pid]) {
          try {
            process.kill(target, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      const finished = this.store.jobs.markFinished(row.id, {
        state: 'lost',
        exitCode: null,
        signal: null,
        oomKilled: false,
        reason: 'daemon restarted while the job ran; its processes were killed',
        endedAt: Date.now(),
        cpuUsec: null,
        memoryPeakBytes: null,
      });
      lost.push(toJobInfo(finished));
    }
    return lost;
  }

  /**
   * Starts a job for owner. Bad input and unenforceable limits throw a coded error and store nothing;
   * a command that cannot start (missing cwd or executable, placement failure) becomes a `failed` job.
   */
  async start(spec: JobSpec, owner: string): Promise<JobInfo> {
    if (this.closing) throw new JobctlError('UNAVAILABLE', 'the daemon is shutting down and starts no new jobs');
    validateJobSpec(spec);
    const limits = this.effectiveLimits(spec.limits);
    const cannotStart = preflight(spec.argv[0] as string, spec.cwd, spec.env);
    if (!cannotStart) this.checkEnforceable(limits, spec.cwd);
    const row = this.store.jobs.insert({
      owner,
      name: spec.name ?? null,
      argv: spec.argv,
      cwd: spec.cwd,
      env: spec.env,
      limits,
      createdAt: Date.now(),
    });
    if (cannotStart) return this.fail(row.id, cannotStart);

    const cgroupKey = `job-${row.id}`;
    let cgroup = null;
    try {
      cgroup = this.cgroups?.createJob(cgroupKey, limits, spec.cwd) ?? null;
    } catch (err) {
      return this.fail(row.id, `could not create the job's cgroup: ${(err as Error).message}`);
    }
    const writer = this.store.logs.writer(row.id);
    let proc: JobProcess;
    try {
      proc = new JobProcess({ argv: spec.argv, cwd: spec.cwd, env: spec.env, cgroup, writer, spawner: this.spawner() });
    } catch (err) {
      // Nothing was sent to the spawner (a request over its size limit, no spawner program): nothing
      // runs, so nothing may stay behind either.
      writer.close();
      await cgroup?.remove().catch((e: Error) => this.warn(`job ${row.id}: ${e.message}`));
      const e = err as NodeJS.ErrnoException;
      return this.fail(row.id, `could not start: ${e.code ? `${e.code}: ` : ''}${e.message}`);
    }
    const cgroupColumn = cgroup ? cgroupKey : null;
    // Recorded once the command runs; the end is recorded only after it (a job's row never goes back).
    const recordedStart = proc.placed.then((placed) => {
      if (!placed) return null;
      const started = { pid: proc.pid, pidStartTime: proc.pidStartTime, cgroupKey: cgroupColumn, startedAt: Date.now() };
      try {
        this.store.jobs.markStarted(row.id, started);
      } catch (err) {
        // The process runs: it is supervised as usual; only the row lacks its pid (a full disk; a
        // restart still finds it through its cgroup).
        this.warn(`job ${row.id}: could not record its start (pid ${proc.pid}): ${(err as Error).message}`);
      }
      return started;
    });
    const entry: Running = { process: proc, writer, stopRequested: false, done: undefined as unknown as Promise<JobRow> };
    entry.done = Promise.all([proc.outcome, recordedStart]).then(async ([outcome]) => {
      writer.close();
      for (const problem of outcome.cleanupErrors) this.warn(`job ${row.id}: ${problem}`);
      if (outcome.lost) this.warn(`job ${row.id}: ${outcome.lost}`);
      const finished = await this.recordEnd(row.id, writer, {
        state: outcome.startError ? 'failed' : outcome.lost ? 'lost' : entry.stopRequested ? 'stopped' : 'exited',
        exitCode: outcome.startError || outcome.lost ? null : outcome.exitCode,
        signal: outcome.startError || outcome.lost ? null : outcome.signal,
        oomKilled: outcome.oomKilled,
        reason: outcome.startError ?? outcome.lost,
        endedAt: Date.now(),
        cpuUsec: outcome.cpuUsec,
        memoryPeakBytes: outcome.memoryPeakBytes,
      });
      this.running.delete(row.id);
      this.emit(toJobInfo(finished));
      return finished;
    });
    // wait() and stop() await it; when nobody does, a failure must not become an unhandled rejection
    // (which would end the daemon).
    entry.done.catch(() => undefined);
    this.running.set(row.id, entry);
    // Report the start only once the command runs inside its cgroups (or certainly never will).
    const started = await recordedStart;
    if (!started) return toJobInfo(await entry.done);
    // Built from what is known rather than read back: starting is the hot path (bench/start-rate.ts).
    const info = toJobInfo({ ...row, ...started, state: 'running' });
    if (this.running.has(row.id)) this.emit(info);
    return info;
  }

  /** Stops a running job: SIGTERM to all its processes, graceMs, then kill all; resolves with the final job. */
  async stop(id: number, graceMs = this.options.defaultGraceMs ?? 10_000): Promise<JobInfo> {
    const entry = this.running.get(id);
    if (!entry) {
      const row = this.requireRow(id);
      throw new JobctlError('CONFLICT', `job ${id} is not running (it is ${row.state})`, { details: { id, state: row.state } });
    }
    // A job whose command already ended on its own keeps that result (exited), not "stopped".
    if (!entry.process.hasExited) entry.stopRequested = true;
    await entry.process.stop(graceMs);
    return toJobInfo(await entry.done);
  }

  /** Resolves with the job once it has ended (at once if it already has). */
  async wait(id: number): Promise<JobInfo> {
    const entry = this.running.get(id);
    if (entry) return toJobInfo(await entry.done);
    return toJobInfo(this.requireRow(id));
  }

  /** One job, with live usage while it runs. */
  get(id: number): JobInfo {
    const row = this.requireRow(id);
    return toJobInfo(row, this.liveUsage(id), this.running.get(id)?.writer);
  }

  /** Jobs, newest first; `owner` narrows to one user's jobs, `beforeId` pages on from the last id seen. */
  list(query: { owner?: string; limit?: number; states?: JobState[]; beforeId?: number } = {}): JobInfo[] {
    return this.store.jobs.list(query).map((row) => toJobInfo(row, this.liveUsage(row.id), this.running.get(row.id)?.writer));
  }

  /** Live usage of a running job, or null. */
  liveUsage(id: number): Usage | null {
    const entry = this.running.get(id);
    if (!entry) return null;
    try {
      return entry.process.usage();
    } catch {
      return null; // the cgroup may be going away at this very moment
    }
  }

  /** Ids of the jobs running now. */
  runningIds(): number[] {
    return [...this.running.keys()];
  }

  /** Subscribes to job changes; returns the unsubscribe function. */
  onChange(listener: JobListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Stops every running job (graceMs each, in parallel) and refuses new ones: what the daemon does on
   * SIGTERM. Jobs end `stopped` with reason recorded by their signal; their output is kept.
   */
  async shutdown(graceMs = this.options.defaultGraceMs ?? 10_000): Promise<void> {
    this.closing = true;
    await Promise.all([...this.running.keys()].map((id) => this.stop(id, graceMs).catch(() => undefined)));
    await this.spawnerProcess?.close();
    await this.cgroups?.dispose().catch((err: Error) => this.warn(`cgroup cleanup: ${err.message}`));
  }

  /** The spawner for the next job: started on first use, and again after an unexpected end. */
  private spawner(): Spawner {
    if (!this.spawnerProcess?.alive) {
      // Looked up again for a replacement: a cached copy in the temp dir may have been cleaned away.
      const file = this.spawnerProcess ? (this.options.spawnerFile ?? spawnerFile()) : this.spawnerPath;
      this.spawnerProcess = new Spawner(file, (reason) => this.warn(`${reason}; its running jobs are lost, new jobs get a new spawner`));
    }
    return this.spawnerProcess;
  }

  private effectiveLimits(requested: Limits): Limits {
    const limits: Limits = { ...this.options.defaultLimits, ...stripUndefined(requested) };
    const max = this.options.maxLimits ?? {};
    for (const name of LIMIT_NAMES) {
      const cap = max[name];
      const value = limits[name];
      if (cap === undefined) continue;
      if (value === undefined) limits[name] = cap;
      else if (value > cap) {
        // details.max lets a client say the cap in its own user's units (512M rather than bytes).
        const field = `limits.${name}`;
        throw new JobctlError('INVALID_ARGUMENT', `invalid ${field} ${value}: at most ${wireAmount(limitFields[name].range, cap)} (the daemon's maximum)`, { details: { field, max: cap } });
      }
    }
    return limits;
  }

  private checkEnforceable(limits: Limits, cwd: string): void {
    const requested = LIMIT_NAMES.filter((n) => limits[n] !== undefined);
    if (requested.length === 0) return;
    if (!this.cgroups) {
      throw new JobctlError(
        'LIMIT_UNENFORCEABLE',
        `limit ${requested[0]} cannot be enforced: no usable cgroup hierarchy on this host (the daemon cannot create cgroups under its own); run the daemon as root or under systemd with Delegate=yes, or start the job without limits`,
        { details: { limit: requested[0] } },
      );
    }
    this.cgroups.checkLimits(limits, cwd);
  }

  /**
   * Records the end of a job. A full disk can refuse the write: the job has ended all the same, so the
   * write is retried until it is stored (the job reads as running meanwhile; should the daemon stop
   * first, the next start marks it lost). Drops its log writer could not count yet go in first.
   */
  private async recordEnd(id: number, writer: LogWriter, result: JobResult): Promise<JobRow> {
    for (let attempt = 1; ; attempt++) {
      try {
        writer.settle();
        return this.store.jobs.markFinished(id, result);
      } catch (err) {
        // A coded error (no such job, already final) will not change by waiting; nor will a closed database.
        if (isJobctlError(err) || !this.store.db.open || (this.closing && attempt >= END_RETRIES_AT_SHUTDOWN)) throw err;
        if (attempt === 1) this.warn(`job ${id} ended, but its end could not be recorded: ${(err as Error).message}; retrying every ${END_RETRY_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, END_RETRY_MS));
      }
    }
  }

  private fail(id: number, reason: string): JobInfo {
    const row = this.store.jobs.markFinished(id, {
      state: 'failed',
      exitCode: null,
      signal: null,
      oomKilled: false,
      reason,
      endedAt: Date.now(),
      cpuUsec: null,
      memoryPeakBytes: null,
    });
    const info = toJobInfo(row);
    this.emit(info);
    return info;
  }

  private requireRow(id: number): JobRow {
    const row = this.store.jobs.get(id);
    if (!row) throw new JobctlError('NOT_FOUND', `no job with id ${id}`, { details: { id } });
    return row;
  }

  private emit(job: JobInfo): void {
    for (const listener of this.listeners) {
      try {
        listener(job);
      } catch (err) {
        this.warn(`job listener failed: ${(err as Error).message}`);
      }
    }
  }

  private warn(message: string): void {
    this.options.onWarning?.(message);
  }
}

function stripUndefined(limits: Limits): Limits {
  return Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) as Limits;
}
