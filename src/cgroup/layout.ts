// Layout detection (which hierarchies are mounted, where the daemon sits in each) and the
// per-controller choice between v1 and v2. Both pure: texts and lists in, plain data out.

import { posix } from 'node:path';
import { parseMountinfo, parseProcCgroup, type MountEntry, type ProcCgroupEntry } from './mountinfo.ts';
import type { LayoutKind } from './types.ts';

/** Controllers the kernel can bind to a v1 hierarchy (anything else in the super options is a mount option). */
export const V1_CONTROLLERS: ReadonlySet<string> = new Set([
  'cpuset', 'cpu', 'cpuacct', 'blkio', 'memory', 'devices', 'freezer', 'net_cls', 'perf_event',
  'net_prio', 'hugetlb', 'pids', 'rdma', 'misc', 'debug',
]);

/** One usable hierarchy: mounted, and the daemon's own cgroup is inside the mounted part. */
export interface Hierarchy {
  version: 1 | 2;
  mountPoint: string;
  /** The part of the hierarchy the mount shows ("/" normally; "/docker/abc" in a container's view). */
  mountRoot: string;
  /** v1: bound controllers plus "name=X" for named hierarchies; v2: [] (see cgroup.controllers). */
  controllers: string[];
  /** The daemon's own cgroup, as /proc/self/cgroup names it. */
  ownPath: string;
  /** Where that cgroup is on disk: mountPoint + (ownPath minus mountRoot). */
  ownDir: string;
}

/** The result of detectLayout. */
export interface DetectedLayout {
  kind: LayoutKind;
  hierarchies: Hierarchy[];
  warnings: string[];
}

/** Limits map onto these cgroup controllers (io is "blkio" on v1). */
export type LimitController = 'cpu' | 'memory' | 'pids' | 'io';

/** The limit controllers, in the order they are enabled and written. */
export const LIMIT_CONTROLLERS: readonly LimitController[] = ['cpu', 'memory', 'pids', 'io'];

/** Where one resource is handled. */
export interface Backend {
  version: 1 | 2;
  hierarchy: Hierarchy;
}

/** Which hierarchy does what for a job. */
export interface BackendPlan {
  /** The hierarchy whose cgroup.procs/cgroup.events tell which processes belong to a job (v2 when mounted). */
  track: Hierarchy | null;
  cpu: Backend | null;
  memory: Backend | null;
  pids: Backend | null;
  io: Backend | null;
  /** Where CPU time is read: v1 cpuacct, else v2 cpu.stat (present in every v2 cgroup). */
  cpuUsage: Backend | null;
  /** The v1 freezer hierarchy, if mounted (used to kill when v2 cgroup.kill is missing). */
  freezer: Hierarchy | null;
  /** Limit controllers chosen on v2: they must be enabled in subtree_control before use. */
  v2Wanted: LimitController[];
}

/** The v1 controller that implements a limit controller. */
export function v1Name(c: LimitController): string {
  return c === 'io' ? 'blkio' : c;
}

/** Joins a mount point and a path relative to it without producing "//". */
function joinDir(mountPoint: string, rel: string): string {
  return rel === '' || rel === '/' ? mountPoint : posix.join(mountPoint, rel);
}

/** The part of ownPath below mountRoot, or null when ownPath is outside what the mount shows. */
function relativeToRoot(ownPath: string, mountRoot: string): string | null {
  if (mountRoot === '/') return ownPath;
  if (ownPath === mountRoot) return '/';
  if (ownPath.startsWith(mountRoot + '/')) return ownPath.slice(mountRoot.length);
  return null;
}

/** The hierarchy keys of a v1 mount: its controllers and "name=X", as /proc/self/cgroup lists them. */
function v1Keys(m: MountEntry): string[] {
  return m.superOptions.filter((o) => V1_CONTROLLERS.has(o) || o.startsWith('name=')).sort();
}

/** Picks the mount that shows ownPath, preferring the widest view and the usual /sys/fs/cgroup place. */
function pickMount(mounts: MountEntry[], ownPath: string): MountEntry | null {
  const usable = mounts.filter((m) => relativeToRoot(ownPath, m.root) !== null);
  usable.sort((a, b) => a.root.length - b.root.length || Number(!a.mountPoint.startsWith('/sys/fs/cgroup')) - Number(!b.mountPoint.startsWith('/sys/fs/cgroup')));
  return usable[0] ?? null;
}

/**
 * Pure: parses the layout from the texts of /proc/self/mountinfo and /proc/self/cgroup. Paths are as
 * the kernel prints them (an injected filesystem root is added by the caller).
 */
export function detectLayout(mountinfo: string, procSelfCgroup: string): DetectedLayout {
  const mounts = parseMountinfo(mountinfo);
  const entries = parseProcCgroup(procSelfCgroup);
  const hierarchies: Hierarchy[] = [];
  const warnings: string[] = [];

  // v1: one hierarchy per distinct controller set; several mounts of one hierarchy are binds.
  const v1Mounts = new Map<string, MountEntry[]>();
  for (const m of mounts) {
    if (m.fsType !== 'cgroup') continue;
    const keys = v1Keys(m);
    if (keys.length === 0) continue;
    const id = keys.join(',');
    v1Mounts.set(id, [...(v1Mounts.get(id) ?? []), m]);
  }
  for (const [id, ms] of v1Mounts) {
    const entry = entries.find((e: ProcCgroupEntry) => e.hierarchyId !== 0 && [...e.controllers].sort().join(',') === id);
    if (!entry) {
      warnings.push(`cgroup v1 hierarchy ${id} is mounted at ${ms[0]?.mountPoint} but /proc/self/cgroup has no line for it; not used`);
      continue;
    }
    const m = pickMount(ms, entry.path);
    if (!m) {
      warnings.push(`cgroup v1 ${id}: own cgroup ${entry.path} is outside the mounted part ${ms.map((x) => x.root).join(', ')} at ${ms.map((x) => x.mountPoint).join(', ')}; not used`);
      continue;
    }
    hierarchies.push({
      version: 1,
      mountPoint: m.mountPoint,
      mountRoot: m.root,
      controllers: id.split(','),
      ownPath: entry.path,
      ownDir: joinDir(m.mountPoint, relativeToRoot(entry.path, m.root) ?? '/'),
    });
  }

  const v2Mounts = mounts.filter((m) => m.fsType === 'cgroup2');
  if (v2Mounts.length > 0) {
    const entry = entries.find((e) => e.hierarchyId === 0 && e.controllers.length === 0);
    const m = entry ? pickMount(v2Mounts, entry.path) : null;
    if (!entry) warnings.push(`cgroup2 is mounted at ${v2Mounts[0]?.mountPoint} but /proc/self/cgroup has no "0::" line; not used`);
    else if (!m) warnings.push(`cgroup2: own cgroup ${entry.path} is outside the mounted part ${v2Mounts.map((x) => x.root).join(', ')}; not used`);
    else {
      hierarchies.push({
        version: 2,
        mountPoint: m.mountPoint,
        mountRoot: m.root,
        controllers: [],
        ownPath: entry.path,
        ownDir: joinDir(m.mountPoint, relativeToRoot(entry.path, m.root) ?? '/'),
      });
    }
  }

  // "name=systemd" alone does not make a v1 layout: it carries no controller.
  const hasV1 = hierarchies.some((h) => h.version === 1 && h.controllers.some((c) => V1_CONTROLLERS.has(c)));
  const hasV2 = hierarchies.some((h) => h.version === 2);
  const kind: LayoutKind = hasV1 && hasV2 ? 'hybrid' : hasV2 ? 'unified' : hasV1 ? 'legacy' : 'none';
  return { kind, hierarchies, warnings };
}

/**
 * Pure: chooses v2 for a controller when it is in the daemon's own v2 cgroup.controllers, else v1 when
 * mounted. `name=` hierarchies (systemd's) are never used.
 */
export function chooseBackends(layout: DetectedLayout, v2Controllers: readonly string[]): BackendPlan {
  const v2 = layout.hierarchies.find((h) => h.version === 2) ?? null;
  const v1 = (name: string): Hierarchy | null => layout.hierarchies.find((h) => h.version === 1 && h.controllers.includes(name)) ?? null;
  const pick = (c: LimitController): Backend | null => {
    if (v2 && v2Controllers.includes(c)) return { version: 2, hierarchy: v2 };
    const h = v1(v1Name(c));
    return h ? { version: 1, hierarchy: h } : null;
  };
  const cpu = pick('cpu');
  const memory = pick('memory');
  const pids = pick('pids');
  const io = pick('io');
  const cpuacct = v1('cpuacct');
  // v2 cpu.stat usage_usec exists in every v2 cgroup, with or without the cpu controller.
  const cpuUsage: Backend | null = cpu?.version === 2 ? cpu : cpuacct ? { version: 1, hierarchy: cpuacct } : v2 ? { version: 2, hierarchy: v2 } : null;
  const track = v2 ?? v1('freezer') ?? v1('pids') ?? v1('memory') ?? v1('cpuacct') ?? v1('cpu') ?? v1('blkio');
  const v2Wanted = LIMIT_CONTROLLERS.filter((c) => ({ cpu, memory, pids, io })[c]?.version === 2);
  return { track, cpu, memory, pids, io, cpuUsage, freezer: v1('freezer'), v2Wanted };
}
