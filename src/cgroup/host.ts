// The factory: probes the host once (probe.ts), then creates job cgroups, finds leftovers and
// disposes of the instance subtree. The only place that decides which hierarchy a job joins.

import { join } from 'node:path';
import { JobctlError, invalidArgument } from '../rpc/errors.ts';
import type { Limits } from '../rpc/model.ts';
import { SUPERVISOR_DIR, type DelegateOps } from './delegate.ts';
import { diskForPath, type DeviceNumber } from './device.ts';
import { applyWrites, exists, mkdirCgroup, readPidsRecursive, removeCgroupTree, subdirs, tryRemoveTree, type CgroupWrite } from './files.ts';
import { CgroupJob, type JobSpec } from './job.ts';
import type { Backend, Hierarchy } from './layout.ts';
import { requestedLimits, validateLimits } from './limits.ts';
import { instanceDir, noteSupervisorLeaf, probeHost, type HostState } from './probe.ts';
import type { CgroupHost, CgroupOptions, Capabilities, JobCgroup } from './types.ts';
import type { VersionedDir } from './kill.ts';
import * as v1 from './v1.ts';
import * as v2 from './v2.ts';

/** Instance names and job keys become directory names: one safe path segment. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Opens the cgroup layer for one daemon instance: detects the layout, prepares <own>/<instance> in every hierarchy used. */
export function openCgroupHost(options: CgroupOptions): CgroupHost {
  return createCgroupHost(options);
}

/** What createCgroupHost lets a test replace: the v2 delegation writes (a model of the kernel's rules over a fixture tree) and the PID moved. */
export interface HostDeps {
  delegateOps?: DelegateOps;
  pid?: number;
}

/** openCgroupHost with injectable dependencies (not part of the public face). */
export function createCgroupHost(options: CgroupOptions, deps: HostDeps = {}): CgroupHost {
  if (options === null || typeof options !== 'object') throw invalidArgument('cgroup options', options, 'an object with an "instance" name');
  const root = options.root ?? '/';
  if (typeof root !== 'string' || !root.startsWith('/')) throw invalidArgument('root', root, 'an absolute path');
  if (typeof options.instance !== 'string' || !SEGMENT.test(options.instance)) {
    throw invalidArgument('instance', options.instance, 'one path segment of letters, digits, "_", "." and "-", starting with a letter or digit (e.g. "jobctl-3f2a9c1b")');
  }
  return new Host(probeHost(root, options.instance, deps.pid ?? process.pid, deps.delegateOps));
}

/** The CgroupHost implementation. */
class Host implements CgroupHost {
  readonly capabilities: Capabilities;
  readonly #s: HostState;
  #disposed = false;

  constructor(state: HostState) {
    this.#s = state;
    this.capabilities = state.capabilities;
  }

  checkLimits(limits: Limits, cwd: string): void {
    this.#check(limits, cwd);
  }

  /** Validates and checks enforceability; returns the whole disk for io limits (null when none asked). */
  #check(limits: Limits, cwd: string): DeviceNumber | null {
    validateLimits(limits);
    const asked = requestedLimits(limits);
    for (const name of asked) {
      const s = this.capabilities.limits[name];
      if (!s.enforceable) {
        throw new JobctlError('LIMIT_UNENFORCEABLE', `cannot enforce the ${name} limit (${limits[name]}) on this host: ${s.reason}${s.fix ? `. Fix: ${s.fix}` : ''}`, {
          details: { limit: name, reason: s.reason, fix: s.fix },
        });
      }
    }
    const io = asked.find((n) => n === 'ioRead' || n === 'ioWrite');
    if (!io) return null;
    const found = diskForPath(this.#s.root, cwd, this.#s.mountinfo);
    if (!found.ok) {
      throw new JobctlError(
        'LIMIT_UNENFORCEABLE',
        `cannot enforce the ${io} limit (${limits[io]}): ${found.reason}. Fix: run the job in a directory on a disk-backed filesystem (ext4, xfs, …), or drop the io limits`,
        { details: { limit: io, cwd, device: `${found.device.major}:${found.device.minor}`, fsType: found.fsType } },
      );
    }
    return found.disk;
  }

  createJob(jobKey: string, limits: Limits, cwd: string): JobCgroup | null {
    if (this.#disposed) throw new JobctlError('CONFLICT', `cgroup host for instance ${this.#s.instance} was disposed; open a new one`);
    if (typeof jobKey !== 'string' || !SEGMENT.test(jobKey) || jobKey === SUPERVISOR_DIR) {
      throw invalidArgument('job key', jobKey, `one path segment of letters, digits, "_", "." and "-" (e.g. "job-42"), not "${SUPERVISOR_DIR}"`);
    }
    const disk = this.#check(limits, cwd);
    const s = this.#s;
    if (!s.track) return null;

    // Hierarchies the job joins: tracking first (the starting process is killable from its first write),
    // then where usage is read, then limit-only hierarchies when their limit is asked for. Each v1
    // cgroup.procs write takes the kernel's threadgroup rwsem for writing (an RCU grace period:
    // 0.1 ms to 19 ms a write, measured under load), so a job joins no hierarchy it does not need:
    // cgroup2's cpu.stat reports usage_usec in every cgroup, controller or not (so CPU time comes
    // from a v2 tracking cgroup, also on hybrid hosts); without a pids limit the processes of the
    // tracking cgroup are counted; the v1 freezer is joined only when it is the kill method.
    const cpuFromTrack = s.track.version === 2;
    const freezer = this.capabilities.killMethod === 'freezer' ? s.freezerV1 : null;
    const wanted: Array<Hierarchy | null | undefined> = [
      s.track,
      cpuFromTrack ? null : s.cpuUsage?.hierarchy,
      s.memoryStats?.hierarchy,
      limits.pids !== undefined ? s.pidsStats?.hierarchy : null,
      limits.cpu !== undefined ? s.enforce.cpu?.hierarchy : null,
      limits.memory !== undefined ? s.enforce.memory?.hierarchy : null,
      limits.pids !== undefined ? s.enforce.pids?.hierarchy : null,
      limits.ioRead !== undefined || limits.ioWrite !== undefined ? s.enforce.io?.hierarchy : null,
      freezer,
    ];
    const hierarchies: Hierarchy[] = [];
    for (const h of wanted) if (h && !hierarchies.includes(h)) hierarchies.push(h);
    const dirOf = (h: Hierarchy): string => join(instanceDir(h, s.instance), jobKey);

    const created: string[] = [];
    try {
      for (const h of hierarchies) {
        const dir = dirOf(h);
        if (!mkdirCgroup(dir)) {
          // Leftover of an earlier job with this key: reuse would inherit its limits and its OOM
          // counter, so an empty one is recreated and a populated one refused.
          const pids = readPidsRecursive(dir);
          if (pids.length > 0) {
            throw new JobctlError('CONFLICT', `cgroup ${dir} already exists with processes ${pids.slice(0, 10).join(', ')}: clean up leftovers of this instance first`, {
              details: { file: dir, pids },
            });
          }
          const code = tryRemoveTree(dir);
          if (code) throw new JobctlError('INTERNAL', `cannot remove the stale cgroup ${dir}: ${code}`, { details: { file: dir, errno: code } });
          mkdirCgroup(dir);
        }
        created.push(dir);
      }
      applyWrites(this.#limitWrites(limits, disk, dirOf));
    } catch (err) {
      for (const dir of [...created].reverse()) tryRemoveTree(dir);
      throw err;
    }

    const at = (b: Backend | null): VersionedDir | null => (b ? { version: b.version, dir: dirOf(b.hierarchy) } : null);
    const spec: JobSpec = {
      key: jobKey,
      dirs: created,
      procsFiles: created.map((d) => join(d, 'cgroup.procs')),
      track: { version: s.track.version, dir: dirOf(s.track) },
      freezerV1: freezer ? dirOf(freezer) : null,
      killMethod: this.capabilities.killMethod === 'process-group' ? 'kill-loop' : this.capabilities.killMethod,
      cpuUsage: cpuFromTrack ? { version: 2, dir: dirOf(s.track) } : at(s.cpuUsage),
      memory: at(s.memoryStats),
      pidsCounter: limits.pids !== undefined ? at(s.pidsStats) : null,
    };
    return new CgroupJob(spec);
  }

  /** The writes for the asked limits, in LIMIT_NAMES order, each in its driver's order. */
  #limitWrites(limits: Limits, disk: DeviceNumber | null, dirOf: (h: Hierarchy) => string): CgroupWrite[] {
    const { enforce, hostHasSwap } = this.#s;
    const writes: CgroupWrite[] = [];
    if (limits.cpu !== undefined && enforce.cpu) {
      const dir = dirOf(enforce.cpu.hierarchy);
      writes.push(...(enforce.cpu.version === 1 ? v1.cpuWrites(dir, limits.cpu) : v2.cpuWrites(dir, limits.cpu)));
    }
    if (limits.memory !== undefined && enforce.memory) {
      const dir = dirOf(enforce.memory.hierarchy);
      writes.push(...(enforce.memory.version === 1 ? v1.memoryWrites(dir, limits.memory, hostHasSwap) : v2.memoryWrites(dir, limits.memory)));
    }
    if (limits.pids !== undefined && enforce.pids) {
      const dir = dirOf(enforce.pids.hierarchy);
      writes.push(...(enforce.pids.version === 1 ? v1.pidsWrites(dir, limits.pids) : v2.pidsWrites(dir, limits.pids)));
    }
    if (disk && enforce.io) {
      const dir = dirOf(enforce.io.hierarchy);
      // ioWrite on v1 was refused by #check (writeback is not throttled there).
      if (enforce.io.version === 1 && limits.ioRead !== undefined) writes.push(...v1.blkioReadWrites(dir, disk, limits.ioRead));
      if (enforce.io.version === 2) writes.push(...v2.ioWrites(dir, disk, { read: limits.ioRead, write: limits.ioWrite }));
    }
    return writes;
  }

  /** Job keys under <own>/<instance> in any hierarchy used (the daemon's own leaf excluded). */
  #leftoverKeys(): string[] {
    const keys = new Set<string>();
    for (const h of this.#s.usable) {
      for (const name of subdirs(instanceDir(h, this.#s.instance))) if (name !== SUPERVISOR_DIR) keys.add(name);
    }
    return [...keys].sort();
  }

  /** A JobCgroup over whatever directories a leftover job still has. */
  #leftover(key: string): CgroupJob {
    const s = this.#s;
    const dirOf = (h: Hierarchy): string => join(instanceDir(h, s.instance), key);
    const hs = [...s.usable].filter((h) => exists(dirOf(h)));
    const track = s.track && hs.includes(s.track) ? s.track : hs[0] ?? null;
    const trackDir: VersionedDir | null = track ? { version: track.version, dir: dirOf(track) } : null;
    const freezer = s.layout.hierarchies.find((h) => h.version === 1 && h.controllers.includes('freezer') && hs.includes(h));
    // A leftover may sit frozen in a v1 freezer (a daemon that died mid-kill); the freezer method thaws it.
    const killMethod = trackDir?.version === 2 && exists(join(trackDir.dir, 'cgroup.kill')) && !freezer ? 'cgroup.kill' : freezer ? 'freezer' : 'kill-loop';
    return new CgroupJob({
      key,
      dirs: hs.map(dirOf),
      procsFiles: [],
      track: trackDir,
      freezerV1: freezer ? dirOf(freezer) : null,
      killMethod,
      cpuUsage: null,
      memory: null,
      pidsCounter: null,
    });
  }

  async cleanupLeftovers(): Promise<string[]> {
    const keys = this.#leftoverKeys();
    const errors: string[] = [];
    for (const key of keys) {
      const job = this.#leftover(key);
      try {
        await job.killAll();
        await job.remove();
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }
    if (errors.length > 0) {
      throw new JobctlError('INTERNAL', `cleaning up leftover job cgroups of instance ${this.#s.instance} failed: ${errors.join('; ')}`, { details: { keys } });
    }
    return keys;
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    const s = this.#s;
    const left = this.#leftoverKeys();
    if (left.length > 0) {
      throw new JobctlError('CONFLICT', `cannot dispose of cgroup instance ${s.instance}: job cgroups remain (${left.join(', ')}); kill and remove them first`, {
        details: { keys: left },
      });
    }
    this.#disposed = true;
    const v2h = s.layout.hierarchies.find((h) => h.version === 2);
    // The daemon's leaf: this host moved it there, or an earlier host of this process did (probe then
    // kept <own> as own cgroup), so it is looked up rather than taken from the delegation result.
    const sup = v2h ? join(instanceDir(v2h, s.instance), SUPERVISOR_DIR) : null;
    if (v2h && sup && exists(sup) && readPidsRecursive(sup).includes(s.pid)) this.#leaveSupervisor(v2h, sup);
    const errors: string[] = [];
    for (const h of s.usable) {
      const dir = instanceDir(h, s.instance);
      // A cgroup holding a process cannot be removed: the leaf stays while the daemon (or a child) is in it.
      if (h === v2h && sup && exists(sup) && readPidsRecursive(sup).length > 0) continue;
      try {
        await removeCgroupTree(dir);
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }
    if (errors.length > 0) throw new JobctlError('INTERNAL', `disposing of cgroup instance ${s.instance}: ${errors.join('; ')}`);
  }

  /**
   * Best effort: moves the daemon back from <instance>/supervisor to <own>. Allowed only once the
   * controllers this daemon enabled in <own> are turned off again (no-internal-processes rule), and
   * that is done only when our instance is <own>'s sole child — another subtree may rely on them.
   * When it is not possible the daemon stays; its empty leaf goes with the service's cgroup.
   */
  #leaveSupervisor(v2h: Hierarchy, sup: string): void {
    const s = this.#s;
    const inst = instanceDir(v2h, s.instance);
    const mine = s.delegation?.enabledAtOwn ?? [];
    if (subdirs(v2h.ownDir).some((d) => d !== s.instance)) return;
    try {
      for (const c of v2.subtreeControl(inst)) s.ops.write(join(inst, 'cgroup.subtree_control'), `-${c}`);
      for (const c of mine) s.ops.write(join(v2h.ownDir, 'cgroup.subtree_control'), `-${c}`);
      // Controllers still on in <own> (enabled by someone else) forbid moving back: domain ones
      // with EBUSY, threaded ones would be accepted and make <own> a thread root (see delegate.ts).
      if (v2.subtreeControl(v2h.ownDir).length > 0) return;
      s.ops.write(join(v2h.ownDir, 'cgroup.procs'), String(s.pid));
      noteSupervisorLeaf(sup, false);
      tryRemoveTree(sup);
    } catch {
      // stay in the leaf
    }
  }
}
