// The public shapes of the cgroup layer. Kept apart from host.ts so index.ts can re-export them
// without pulling code, and so every driver file can name them without import cycles.

import type { LimitName, Limits } from '../rpc/model.ts';

/** Options of openCgroupHost. */
export interface CgroupOptions {
  /** Filesystem root for /proc/self/{mountinfo,cgroup} and the cgroup mounts; tests point it at a fixture tree. Default "/". */
  root?: string;
  /** Name of this daemon's subtree under its own cgroup in every hierarchy, e.g. "jobctl-3f2a9c1b" (the caller derives it from its home dir: one home = one subtree, so two daemons never clean up each other's jobs). */
  instance: string;
}

/** How cgroups are mounted: pure v2, v1 controllers plus a cgroup2 mount, pure v1, or nothing usable. */
export type LayoutKind = 'unified' | 'hybrid' | 'legacy' | 'none';

/** Whether one limit can be enforced here: through what, or why not and how to fix it. */
export interface LimitSupport {
  enforceable: boolean;
  /** What enforces it, e.g. "cgroup v1 memory (memory.limit_in_bytes + memory.memsw.limit_in_bytes)". */
  via: string | null;
  /** Why it cannot be enforced (null when it can). */
  reason: string | null;
  /** What the user can do about it (null when enforceable or nothing helps). */
  fix: string | null;
}

/** How jobs are killed: strongest first. `process-group` means no cgroup is usable at all. */
export type KillMethod = 'cgroup.kill' | 'freezer' | 'kill-loop' | 'process-group';

/** One mounted cgroup hierarchy as the daemon sees it. */
export interface HierarchyInfo {
  version: 1 | 2;
  /** Where it is mounted (without the injected root). */
  mountPoint: string;
  /** v1: the controllers bound to it ("name=systemd" for named ones); v2: the daemon's cgroup.controllers. */
  controllers: string[];
  /** The daemon's own cgroup path in this hierarchy, from /proc/self/cgroup. */
  ownPath: string;
}

/** What this host can do for jobs; `jobctl info` prints it. */
export interface Capabilities {
  layout: LayoutKind;
  hierarchies: HierarchyInfo[];
  /** cpu, memory, pids, ioRead, ioWrite. */
  limits: Record<LimitName, LimitSupport>;
  killMethod: KillMethod;
  /** Which usage figures stats() really measures (the others read 0 / null). */
  usage: { cpu: boolean; memory: boolean; pids: boolean };
  /** True when stats().oomKills comes from the kernel's own counter. */
  oomDetection: boolean;
  /** Things that work, but less well than the user may expect. */
  warnings: string[];
}

/** Usage figures of one job cgroup. */
export interface JobCgroupStats {
  /** CPU time, user + system, in microseconds. */
  cpuUsec: number;
  /** Memory charged to the job now, in bytes. */
  memoryBytes: number;
  /** Highest memory charged, in bytes; null when the kernel does not keep it (v2 before 5.19). */
  memoryPeakBytes: number | null;
  /** Tasks now: pids.current, which counts threads and keeps counting an exited task until it is reaped (orphans wait for PID 1); the process count when there is no pids controller. */
  pids: number;
  /** Processes the kernel's OOM killer killed in this job. */
  oomKills: number;
}

/** The cgroup(s) of one job. */
export interface JobCgroup {
  /** cgroup.procs files the job's first process writes its own PID into, in this order, before it execs the command. */
  readonly procsFiles: string[];
  /** Directories created for this job. */
  readonly dirs: string[];
  /** Live figures while running; final figures when called after the job is empty and before remove(). */
  stats(): JobCgroupStats;
  /** PIDs in the job now (from the tracking hierarchy). */
  pids(): number[];
  /** Sends sig to every process of the job; returns how many were signalled. */
  signal(sig: NodeJS.Signals): number;
  /** Kills every process with the strongest method the host has; resolves once the job is empty; rejects with JobctlError('INTERNAL') listing survivors after timeoutMs (default 5000). */
  killAll(timeoutMs?: number): Promise<void>;
  /** Resolves true when no process is left (v2: fs.watch on cgroup.events "populated 0" plus a polling fallback; v1: poll cgroup.procs), false on timeout (default: no timeout). */
  waitEmpty(timeoutMs?: number): Promise<boolean>;
  /** Removes every directory created for the job (retries EBUSY briefly; ENOENT is fine). */
  remove(): Promise<void>;
}

/** The cgroup layer of one daemon instance. */
export interface CgroupHost {
  readonly capabilities: Capabilities;
  /** Throws JobctlError('LIMIT_UNENFORCEABLE') for the first requested limit the host cannot enforce: names the limit, why, how to fix. Also io limits on a cwd whose filesystem has no block device (tmpfs, overlay). Throws INVALID_ARGUMENT for bad values. */
  checkLimits(limits: Limits, cwd: string): void;
  /** Creates the job's cgroup in every hierarchy in use (named after jobKey under the instance subtree) and writes its limits before returning; io limits target the whole disk holding cwd. On any failure removes what it created and throws a coded error naming the file, the value and the errno. Returns null when no cgroup hierarchy is usable (the caller then falls back to a process group). */
  createJob(jobKey: string, limits: Limits, cwd: string): JobCgroup | null;
  /** Finds job cgroups left by an earlier run of this instance, kills their processes (strongest method), removes them; returns the job keys found. */
  cleanupLeftovers(): Promise<string[]>;
  /** Removes the (empty) instance subtree, e.g. at daemon shutdown. */
  dispose(): Promise<void>;
}
