// Probing the host once at start: which hierarchies are usable for this instance, v2 delegation,
// the kill method, and — for every limit — whether it is enforceable, through what, or why not.
// Side effects: creates <own>/<instance> in each hierarchy used, and on v2 may move the daemon into
// <own>/<instance>/supervisor (see delegate.ts). Nothing outside the daemon's own cgroups is written.

import { join, posix } from 'node:path';
import { delegateV2, kernelOps, SUPERVISOR_DIR, type DelegateOps, type DelegationResult } from './delegate.ts';
import { exists, mkdirCgroup, readOptional } from './files.ts';
import { chooseBackends, detectLayout, type Backend, type BackendPlan, type DetectedLayout, type Hierarchy, type LimitController } from './layout.ts';
import { limitSupport } from './support.ts';
import type { Capabilities, KillMethod } from './types.ts';
import * as v2 from './v2.ts';

/** What the host decided at start; everything createJob and cleanup need. */
export interface HostState {
  root: string;
  instance: string;
  /** The daemon's PID (the one delegation may move). */
  pid: number;
  /** How delegation writes subtree_control and cgroup.procs (the kernel, or a test's model of it). */
  ops: DelegateOps;
  /** The text of /proc/self/mountinfo (the io device lookup uses it). */
  mountinfo: string;
  layout: DetectedLayout;
  plan: BackendPlan;
  /** Hierarchies where <own>/<instance> exists and is ours to use. */
  usable: Set<Hierarchy>;
  /** The hierarchy that tracks job processes (null: no cgroup usable at all). */
  track: Hierarchy | null;
  /** The v1 freezer hierarchy, when the kill method is the v1 freezer. */
  freezerV1: Hierarchy | null;
  /** Limit controller → where it is enforced (null when not enforceable). */
  enforce: Record<LimitController, Backend | null>;
  cpuUsage: Backend | null;
  /** Where memory usage and OOM kills are read (memory controller usable, limit or not). */
  memoryStats: Backend | null;
  /** Where pids.current is read. */
  pidsStats: Backend | null;
  delegation: DelegationResult | null;
  hostHasSwap: boolean;
  capabilities: Capabilities;
}

/** <own>/<instance> of a hierarchy. */
export function instanceDir(h: Hierarchy, instance: string): string {
  return join(h.ownDir, instance);
}

/** True when /proc/swaps lists any swap area. */
function hasSwap(root: string): boolean {
  const text = readOptional(join(root, 'proc/swaps'));
  return text !== null && text.trim().split('\n').length > 1;
}

/**
 * Supervisor leaves this process moved itself into (rooted paths). A process may open hosts for
 * several instances (tests do); the second one must use the same <own>, not nest under the leaf.
 */
const leavesOfThisProcess = new Set<string>();

/** Records (moved true) or forgets a supervisor leaf of this process. */
export function noteSupervisorLeaf(dir: string, moved: boolean): void {
  if (moved) leavesOfThisProcess.add(dir);
  else leavesOfThisProcess.delete(dir);
}

/** The layout with cgroup directories moved under root, and a previous self-move undone in the v2 own path. */
function rootedLayout(layout: DetectedLayout, root: string, instance: string): DetectedLayout {
  const hierarchies = layout.hierarchies.map((h): Hierarchy => {
    let { ownPath, ownDir } = h;
    // A daemon that moved itself into <own>/<instance>/supervisor (or a child it started) must keep
    // using <own>, not nest a new subtree inside its old one.
    const suffix = `/${instance}/${SUPERVISOR_DIR}`;
    if (h.version === 2 && (ownPath.endsWith(suffix) || leavesOfThisProcess.has(join(root, ownDir)))) {
      // Two levels up (the leaf may belong to another instance of this process: its name's length differs).
      ownPath = posix.dirname(posix.dirname(ownPath));
      ownDir = posix.dirname(posix.dirname(ownDir));
    }
    return { ...h, ownPath, ownDir: join(root, ownDir) };
  });
  return { ...layout, hierarchies };
}

/**
 * Why job cgroups under <own>/<instance> could not take processes, or null when they can. A v2 cgroup
 * takes processes only as a plain domain: under a thread root (a non-root cgroup holding processes
 * with cpu or pids enabled for its children: cgroup.type "domain threaded") every child cgroup is
 * "domain invalid", and moving a process into it fails with EOPNOTSUPP; in a threaded subtree
 * cgroup.kill fails with EOPNOTSUPP.
 */
function v2InstanceProblem(h: Hierarchy, instance: string): string | null {
  const inst = instanceDir(h, instance);
  const type = readOptional(join(inst, 'cgroup.type'))?.trim();
  if (type === undefined || type === 'domain') return null;
  const ownType = readOptional(join(h.ownDir, 'cgroup.type'))?.trim();
  return `${inst} has cgroup.type "${type}" (the daemon's cgroup ${h.ownPath} is "${ownType ?? '?'}"): job cgroups there cannot take processes. ` +
    `A non-root cgroup that holds processes and enables cpu or pids for its children becomes a thread root; give the daemon a cgroup of its own (systemd Delegate=yes) and leave its cgroup.subtree_control to jobctl`;
}

/** Probes the host; see the file comment for the side effects. */
export function probeHost(root: string, instance: string, pid: number, ops: DelegateOps = kernelOps): HostState {
  const mountinfo = readOptional(join(root, 'proc/self/mountinfo'));
  const procCgroup = readOptional(join(root, 'proc/self/cgroup'));
  const warnings: string[] = [];
  if (mountinfo === null || procCgroup === null) warnings.push(`cannot read ${join(root, 'proc/self/mountinfo')} or ${join(root, 'proc/self/cgroup')}: no cgroup support`);
  const layout = rootedLayout(detectLayout(mountinfo ?? '', procCgroup ?? ''), root, instance);
  warnings.push(...layout.warnings);

  const v2h = layout.hierarchies.find((h) => h.version === 2) ?? null;
  const v2Available = v2h ? v2.controllers(v2h.ownDir) : [];
  const plan = chooseBackends(layout, v2Available);

  // Make <own>/<instance> in a hierarchy; remember why not when that fails.
  const usable = new Set<Hierarchy>();
  const unusable = new Map<Hierarchy, string>();
  const use = (h: Hierarchy | null): boolean => {
    if (!h) return false;
    if (usable.has(h)) return true;
    if (unusable.has(h)) return false;
    try {
      mkdirCgroup(instanceDir(h, instance));
      usable.add(h);
      return true;
    } catch (err) {
      unusable.set(h, err instanceof Error ? err.message : String(err));
      return false;
    }
  };

  // v2 first: delegation may move the daemon, which decides whether <instance> can hold job cgroups.
  let delegation: DelegationResult | null = null;
  if (v2h && use(v2h)) {
    if (plan.v2Wanted.length > 0) {
      delegation = delegateV2({ ownDir: v2h.ownDir, ownPath: v2h.ownPath, instanceDir: instanceDir(v2h, instance), wanted: plan.v2Wanted, pid }, ops);
      if (delegation.supervisorDir && pid === process.pid) noteSupervisorLeaf(delegation.supervisorDir, true);
    }
    const why = v2InstanceProblem(v2h, instance);
    if (why) {
      usable.delete(v2h);
      unusable.set(v2h, why);
    }
  }

  // Tracking: v2 when mounted (pure or the hybrid's controller-less mount), else a v1 hierarchy.
  const v1 = (name: string): Hierarchy | null => layout.hierarchies.find((h) => h.version === 1 && h.controllers.includes(name)) ?? null;
  const trackCandidates = [v2h, v1('freezer'), v1('pids'), v1('memory'), v1('cpuacct'), v1('cpu'), v1('blkio')];
  const track = trackCandidates.find((h) => use(h)) ?? null;

  // Kill method: cgroup.kill (kernel >= 5.14) and cgroup.freeze (>= 5.2) are detected by their files,
  // which exist only in non-root v2 cgroups — so in <own>/<instance>, never in <own> (it may be the root).
  let killMethod: KillMethod = 'process-group';
  let freezerV1: Hierarchy | null = null;
  const trackInst = track ? instanceDir(track, instance) : null;
  if (track?.version === 2 && trackInst && exists(join(trackInst, 'cgroup.kill'))) killMethod = 'cgroup.kill';
  else if (track?.version === 2 && trackInst && exists(join(trackInst, 'cgroup.freeze'))) killMethod = 'freezer';
  else if (plan.freezer && use(plan.freezer)) {
    killMethod = 'freezer';
    freezerV1 = plan.freezer;
  } else if (track) killMethod = 'kill-loop';

  const { limits, enforce } = limitSupport({
    layout, plan, delegation, use,
    unusableReason: (h) => unusable.get(h),
    instanceDir: (h) => instanceDir(h, instance),
  });

  // Usage figures come from the controllers even without a limit. A v2 controller counts only once
  // enabled in <instance>/cgroup.subtree_control (then job cgroups have its files); cpu.stat is always there.
  const usableBackend = (b: Backend | null, controller: LimitController | null, file: string): Backend | null => {
    if (!b || !use(b.hierarchy)) return null;
    if (b.version === 2 && controller && !delegation?.enabled.includes(controller)) return null;
    return exists(join(instanceDir(b.hierarchy, instance), file)) ? b : null;
  };
  const cpuUsage = usableBackend(plan.cpuUsage, null, plan.cpuUsage?.version === 1 ? 'cpuacct.usage' : 'cpu.stat');
  const memoryStats = usableBackend(plan.memory, 'memory', plan.memory?.version === 1 ? 'memory.usage_in_bytes' : 'memory.current');
  const pidsStats = usableBackend(plan.pids, 'pids', 'pids.current');
  const oomFile = memoryStats ? join(instanceDir(memoryStats.hierarchy, instance), memoryStats.version === 1 ? 'memory.oom_control' : 'memory.events') : null;
  const oomDetection = oomFile !== null && /\boom_kill\b/.test(readOptional(oomFile) ?? '');

  const hostHasSwap = hasSwap(root);
  if (hostHasSwap && enforce.memory) {
    const inst = instanceDir(enforce.memory.hierarchy, instance);
    if (enforce.memory.version === 1 && !exists(join(inst, 'memory.memsw.limit_in_bytes'))) {
      warnings.push('memory: swap accounting off (no memory.memsw.limit_in_bytes); swap could be used beyond the limit (jobs get memory.swappiness=0); fix: boot with swapaccount=1');
    }
    if (enforce.memory.version === 2 && !exists(join(inst, 'memory.swap.max'))) {
      warnings.push('memory: swap accounting off (no memory.swap.max); swap could be used beyond the limit; fix: a kernel with CONFIG_MEMCG_SWAP (swapaccount=1)');
    }
  }
  if (killMethod === 'kill-loop') warnings.push('no cgroup.kill or freezer: jobs are stopped by a SIGKILL loop over cgroup.procs, which ends only if forking is bounded — set a pids limit');
  if (killMethod === 'process-group') warnings.push('no usable cgroup: jobs run in a process group; processes that call setsid escape stop, and no limit can be enforced');
  for (const [h, why] of unusable) warnings.push(`cgroup v${h.version} ${h.controllers.join(',') || 'unified'} not usable: ${why}`);

  const capabilities: Capabilities = {
    layout: layout.kind,
    hierarchies: layout.hierarchies.map((h) => ({
      version: h.version,
      mountPoint: h.mountPoint,
      controllers: h.version === 2 ? v2Available : h.controllers,
      ownPath: h.ownPath,
    })),
    limits,
    killMethod,
    usage: { cpu: cpuUsage !== null, memory: memoryStats !== null, pids: track !== null },
    oomDetection,
    warnings,
  };
  return {
    root, instance, pid, ops, mountinfo: mountinfo ?? '', layout, plan, usable, track, freezerV1, enforce,
    cpuUsage, memoryStats, pidsStats, delegation, hostHasSwap, capabilities,
  };
}
