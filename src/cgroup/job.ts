// One job's cgroups: the JobCgroup the supervisor holds while the job runs.

import { JobctlError } from '../rpc/errors.ts';
import { removeCgroupTree } from './files.ts';
import { jobPids, killAll, signalPids, waitEmpty, type JobDirs, type VersionedDir } from './kill.ts';
import type { JobCgroup, JobCgroupStats } from './types.ts';
import * as v1 from './v1.ts';
import * as v2 from './v2.ts';

/** Everything a JobCgroup needs to know about where its files are. */
export interface JobSpec extends JobDirs {
  /** cgroup.procs files, tracking hierarchy first. */
  procsFiles: string[];
  cpuUsage: VersionedDir | null;
  memory: VersionedDir | null;
  /** Where pids.current is read; null → the number of processes listed. */
  pidsCounter: VersionedDir | null;
}

/** The JobCgroup implementation; built by the host for new jobs and for leftovers. */
export class CgroupJob implements JobCgroup {
  readonly procsFiles: string[];
  readonly dirs: string[];
  readonly #spec: JobSpec;

  constructor(spec: JobSpec) {
    this.#spec = spec;
    this.procsFiles = [...spec.procsFiles];
    this.dirs = [...spec.dirs];
  }

  /** The job key the cgroup is named after. */
  get key(): string {
    return this.#spec.key;
  }

  stats(): JobCgroupStats {
    const { cpuUsage, memory, pidsCounter } = this.#spec;
    let cpuUsec = 0;
    if (cpuUsage) cpuUsec = cpuUsage.version === 1 ? v1.cpuUsageUsec(cpuUsage.dir) : v2.cpuUsageUsec(cpuUsage.dir);
    let memoryBytes = 0;
    let memoryPeakBytes: number | null = null;
    let oomKills = 0;
    if (memory) {
      const m = memory.version === 1 ? v1.memoryUsage(memory.dir) : v2.memoryUsage(memory.dir);
      memoryBytes = m.current;
      memoryPeakBytes = m.peak;
      oomKills = memory.version === 1 ? v1.oomKills(memory.dir) : v2.oomKills(memory.dir);
    }
    const pids = pidsCounter
      ? pidsCounter.version === 1 ? v1.pidsCurrent(pidsCounter.dir) : v2.pidsCurrent(pidsCounter.dir)
      : this.pids().length;
    return { cpuUsec, memoryBytes, memoryPeakBytes, pids, oomKills };
  }

  pids(): number[] {
    return jobPids(this.#spec);
  }

  signal(sig: NodeJS.Signals): number {
    return signalPids(this.pids(), sig);
  }

  killAll(timeoutMs = 5000): Promise<void> {
    return killAll(this.#spec, timeoutMs);
  }

  waitEmpty(timeoutMs?: number): Promise<boolean> {
    return waitEmpty(this.#spec, timeoutMs);
  }

  /** Removes every directory (all are tried; the first failure is thrown after). */
  async remove(): Promise<void> {
    const errors: unknown[] = [];
    for (const dir of this.dirs) {
      try {
        await removeCgroupTree(dir);
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) {
      const msg = errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ');
      throw new JobctlError('INTERNAL', `${this.#spec.key}: ${errors.length} cgroup directories could not be removed: ${msg}`, { cause: errors[0] });
    }
  }
}
