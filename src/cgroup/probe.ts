// Probing the host once at start: which hierarchies are usable for this instance, v2 delegation,
// the kill method, and — for every limit — whether it is enforceable, through what, or why not.
// Side effects: creates <own>/<instance> in each hierarchy used, and on v2 may move the daemon into
// <own>/<instance>/supervisor (see delegate.ts). Nothing outside the daemon's own cgroups is written.

import { join, posix } from 'node:path';
import { LIMIT_NAMES, type LimitName } from '../rpc/model.ts';
import { delegateV2, kernelOps, SUPERVISOR_DIR, type DelegateOps, type DelegationResult } from './delegate.ts';
import { exists, mkdirCgroup, readOptional } from './files.ts';
import { chooseBackends, detectLayout, v1Name, type Backend, type BackendPlan, type DetectedLayout, type Hierarchy, type LimitController } from './layout.ts';
import type { Capabilities, KillMethod, LimitSupport } from './types.ts';
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

/** Fix for "cannot create a cgroup here". */
const PERMISSION_FIX = 'run the daemon as root, or under systemd with Delegate=yes (`jobctl service install`)';

/** True when /proc/swaps lists any swap area. */
function hasSwap(root: string): boolean {
  const text = readOptional(join(root, 'proc/swaps'));
  return text !== null && text.trim().split('\n').length > 1;
}

/** The layout with cgroup directories moved under root, and a previous self-move undone in the v2 own path. */
function rootedLayout(layout: DetectedLayout, root: string, instance: string): DetectedLayout {
  const hierarchies = layout.hierarchies.map((h): Hierarchy => {
    let { ownPath, ownDir } = h;
    // A daemon that moved itself into <own>/<instance>/supervisor (or a child it started) must keep
    // using <own>, not nest a new subtree inside its old one.
    const suffix = `/${instance}/${SUPERVISOR_DIR}`;
    if (h.version === 2 && ownPath.endsWith(suffix)) {
      ownPath = ownPath.slice(0, -suffix.length) || '/';
      ownDir = posix.dirname(posix.dirname(ownDir));
    }
    return { ...h, ownPath, ownDir: join(root, ownDir) };
  });
  return { ...layout, hierarchies };
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

  // Tracking: v2 when mounted (pure or the hybrid's controller-less mount), else a v1 hierarchy.
  const v1 = (name: string): Hierarchy | null => layout.hierarchies.find((h) => h.version === 1 && h.controllers.includes(name)) ?? null;
  const trackCandidates = [v2h, v1('freezer'), v1('pids'), v1('memory'), v1('cpuacct'), v1('cpu'), v1('blkio')];
  const track = trackCandidates.find((h) => use(h)) ?? null;

  let delegation: DelegationResult | null = null;
  if (v2h && plan.v2Wanted.length > 0 && use(v2h)) {
    delegation = delegateV2({ ownDir: v2h.ownDir, ownPath: v2h.ownPath, instanceDir: instanceDir(v2h, instance), wanted: plan.v2Wanted, pid }, ops);
  }

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

  // Limits.
  const enforce: Record<LimitController, Backend | null> = { cpu: null, memory: null, pids: null, io: null };
  const limits = {} as Record<LimitName, LimitSupport>;
  const no = (reason: string, fix: string | null): LimitSupport => ({ enforceable: false, via: null, reason, fix });
  const V1_FILE: Record<LimitController, string> = { cpu: 'cpu.cfs_quota_us', memory: 'memory.limit_in_bytes', pids: 'pids.max', io: 'blkio.throttle.read_bps_device' };
  const V2_FILE: Record<LimitController, string> = { cpu: 'cpu.max', memory: 'memory.max', pids: 'pids.max', io: 'io.max' };
  const KCONFIG: Record<LimitController, string> = { cpu: 'CONFIG_CFS_BANDWIDTH', memory: 'CONFIG_MEMCG', pids: 'CONFIG_CGROUP_PIDS', io: 'CONFIG_BLK_DEV_THROTTLING' };

  const supportOf = (c: LimitController): LimitSupport => {
    const b = plan[c];
    if (layout.kind === 'none') {
      return no('no cgroup hierarchy is mounted (no cgroup or cgroup2 entry in /proc/self/mountinfo)', 'mount cgroup2 on /sys/fs/cgroup (systemd does this), then restart the daemon');
    }
    if (!b) {
      const name = v1Name(c);
      if (v2h) {
        return no(
          `cgroup v2 ${c} controller not available to the daemon's cgroup ${v2h.ownPath} (not in ${join(v2h.ownDir, 'cgroup.controllers')})${layout.kind === 'hybrid' ? ` and no cgroup v1 ${name} hierarchy is mounted` : ''}`,
          `delegate it: run the daemon under systemd with Delegate=yes (\`jobctl service install\`), or enable "+${c}" in the parent cgroup's cgroup.subtree_control`,
        );
      }
      return no(`no cgroup v1 hierarchy with the ${name} controller is mounted`, `mount it (mount -t cgroup -o ${name} cgroup /sys/fs/cgroup/${name}) or use a host with cgroup v2`);
    }
    if (!use(b.hierarchy)) return no(unusable.get(b.hierarchy) ?? 'cannot create cgroups', PERMISSION_FIX);
    const inst = instanceDir(b.hierarchy, instance);
    if (b.version === 2) {
      const failure = delegation?.failed.get(c);
      if (failure) return no(failure.reason, failure.fix);
      if (!delegation?.enabled.includes(c)) return no(`cgroup v2 ${c} controller could not be enabled in ${join(inst, 'cgroup.subtree_control')}`, PERMISSION_FIX);
      if (!exists(join(inst, V2_FILE[c]))) return no(`${join(inst, V2_FILE[c])} is missing`, `use a kernel built with ${KCONFIG[c]}`);
      enforce[c] = b;
      return { enforceable: true, via: `cgroup v2 ${V2_FILE[c]} under ${inst}`, reason: null, fix: null };
    }
    const file = join(inst, V1_FILE[c]);
    if (!exists(file)) return no(`${file} is missing: the kernel lacks ${KCONFIG[c]}`, `use a kernel built with ${KCONFIG[c]}, or a host with cgroup v2`);
    enforce[c] = b;
    const files = c === 'cpu' ? 'cpu.cfs_period_us + cpu.cfs_quota_us' : c === 'memory' ? (exists(join(inst, 'memory.memsw.limit_in_bytes')) ? 'memory.limit_in_bytes + memory.memsw.limit_in_bytes' : 'memory.limit_in_bytes') : V1_FILE[c];
    return { enforceable: true, via: `cgroup v1 ${files} under ${inst}`, reason: null, fix: null };
  };

  limits.cpu = supportOf('cpu');
  limits.memory = supportOf('memory');
  limits.pids = supportOf('pids');
  limits.ioRead = supportOf('io');
  if (limits.ioRead.enforceable && enforce.io?.version === 1) {
    limits.ioWrite = no(
      'cgroup v1 blkio does not throttle buffered writeback (measured: 80 MB/s escaped a 5 MiB/s limit), so a write limit would not hold',
      'run jobctl on a host with cgroup v2 (the unified hierarchy; systemd.unified_cgroup_hierarchy=1 on the kernel command line), or drop --io-write',
    );
  } else {
    limits.ioWrite = { ...limits.ioRead };
  }

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
    limits: Object.fromEntries(LIMIT_NAMES.map((n) => [n, limits[n]])) as Record<LimitName, LimitSupport>,
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
