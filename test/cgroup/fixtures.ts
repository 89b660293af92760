// Fixture texts of /proc/self/{mountinfo,cgroup} for each layout, and fixture trees that mimic the
// files the kernel puts in a cgroup directory. PIDs are never written into fixture cgroup.procs files
// of job directories: code under test would signal them.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DelegateOps } from '../../src/cgroup/delegate.ts';
import { writeTree } from './helpers.ts';

/** This machine (measured): v1 controllers on separate mounts (cpu and cpuacct apart), cgroup2 at /sys/fs/cgroup/unified. */
export const HYBRID_MOUNTINFO = `22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684084k
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

/** This machine's /proc/self/cgroup: memory sits in an infrastructure cgroup, everything else at the root. */
export const HYBRID_CGROUP = `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/cd8e55a4
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`;

/** A systemd workstation: pure cgroup v2, the daemon in its service cgroup (with optional fields "shared:N"). */
export const UNIFIED_MOUNTINFO = `24 29 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
29 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

/** The daemon of UNIFIED_MOUNTINFO. */
export const UNIFIED_CGROUP = `0::/system.slice/jobctl.service\n`;

/** An old distro: pure v1, cpu and cpuacct co-mounted, net_cls,net_prio co-mounted, systemd's named hierarchy. */
export const LEGACY_MOUNTINFO = `25 18 0:21 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:22 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
31 25 0:27 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,pids
32 25 0:28 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,blkio
33 25 0:29 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,freezer
34 25 0:30 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,net_cls,net_prio
`;

/** The daemon of LEGACY_MOUNTINFO, in a service cgroup (kernel order "cpu,cpuacct"). */
export const LEGACY_CGROUP = `11:pids:/system.slice/jobctl.service
10:freezer:/
9:blkio:/system.slice/jobctl.service
8:memory:/system.slice/jobctl.service
7:net_cls,net_prio:/
4:cpuacct,cpu:/system.slice/jobctl.service
1:name=systemd:/system.slice/jobctl.service
`;

/** A Docker container without a cgroup namespace: each v1 mount shows only /docker/<id> of its hierarchy. */
export const CONTAINER_MOUNTINFO = `690 680 0:60 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=755
700 690 0:50 /docker/abc123 /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime master:20 - cgroup cgroup rw,memory
701 690 0:51 /docker/abc123 /sys/fs/cgroup/cpu,cpuacct ro,nosuid,nodev,noexec,relatime master:21 - cgroup cgroup rw,cpu,cpuacct
702 690 0:52 /docker/abc123 /sys/fs/cgroup/pids ro,nosuid,nodev,noexec,relatime master:22 - cgroup cgroup rw,pids
703 690 0:53 /docker/abc123 /sys/fs/cgroup/freezer ro,nosuid,nodev,noexec,relatime master:23 - cgroup cgroup rw,freezer
`;

/** The container's process: its paths start with the mount root; memory is one level deeper. */
export const CONTAINER_CGROUP = `12:pids:/docker/abc123
8:memory:/docker/abc123/worker
5:freezer:/docker/abc123
3:cpu,cpuacct:/docker/abc123
`;

/** Files the kernel creates in a v1 cgroup directory, by controller. */
export function v1KernelFiles(controllers: readonly string[], opts: { memsw?: boolean } = {}): Record<string, string> {
  const f: Record<string, string> = { 'cgroup.procs': '', tasks: '', notify_on_release: '0\n' };
  for (const c of controllers) {
    if (c === 'cpu') Object.assign(f, { 'cpu.cfs_period_us': '100000\n', 'cpu.cfs_quota_us': '-1\n', 'cpu.shares': '1024\n', 'cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n' });
    if (c === 'cpuacct') Object.assign(f, { 'cpuacct.usage': '0\n', 'cpuacct.usage_user': '0\n', 'cpuacct.usage_sys': '0\n' });
    if (c === 'memory') {
      Object.assign(f, {
        'memory.limit_in_bytes': '9223372036854771712\n',
        'memory.usage_in_bytes': '0\n',
        'memory.max_usage_in_bytes': '0\n',
        'memory.failcnt': '0\n',
        'memory.swappiness': '60\n',
        'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n',
      });
      if (opts.memsw !== false) f['memory.memsw.limit_in_bytes'] = '9223372036854771712\n';
    }
    if (c === 'pids') Object.assign(f, { 'pids.max': 'max\n', 'pids.current': '0\n', 'pids.events': 'max 0\n' });
    if (c === 'blkio') Object.assign(f, { 'blkio.throttle.read_bps_device': '', 'blkio.throttle.write_bps_device': '', 'blkio.throttle.read_iops_device': '', 'blkio.throttle.write_iops_device': '' });
    if (c === 'freezer') Object.assign(f, { 'freezer.state': 'THAWED\n', 'freezer.self_freezing': '0\n', 'freezer.parent_freezing': '0\n' });
  }
  return f;
}

/** Files the kernel creates in a non-root v2 cgroup whose parent enabled `enabled`. */
export function v2KernelFiles(enabled: readonly string[], opts: { available?: readonly string[]; swap?: boolean; peak?: boolean; kill?: boolean } = {}): Record<string, string> {
  const f: Record<string, string> = {
    'cgroup.procs': '',
    'cgroup.threads': '',
    'cgroup.type': 'domain\n',
    'cgroup.events': 'populated 0\nfrozen 0\n',
    'cgroup.freeze': '0\n',
    'cgroup.controllers': `${(opts.available ?? enabled).join(' ')}\n`,
    'cgroup.subtree_control': '\n',
    'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n',
  };
  if (opts.kill !== false) f['cgroup.kill'] = '';
  for (const c of enabled) {
    if (c === 'cpu') Object.assign(f, { 'cpu.max': 'max 100000\n', 'cpu.weight': '100\n' });
    if (c === 'memory') {
      Object.assign(f, {
        'memory.max': 'max\n',
        'memory.current': '0\n',
        'memory.oom.group': '0\n',
        'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n',
      });
      if (opts.swap !== false) f['memory.swap.max'] = 'max\n';
      if (opts.peak !== false) f['memory.peak'] = '0\n';
    }
    if (c === 'pids') Object.assign(f, { 'pids.max': 'max\n', 'pids.current': '0\n' });
    if (c === 'io') Object.assign(f, { 'io.max': '', 'io.stat': '' });
  }
  return f;
}

/** Writes a cgroup directory (relative to root) holding the given kernel files. */
export function cgroupDir(root: string, rel: string, files: Record<string, string>): void {
  writeTree(root, Object.fromEntries([[rel, null], ...Object.entries(files).map(([k, v]) => [join(rel, k), v])]));
}

/** A whole hybrid host like this machine, with <own>/<instance> already made (as the kernel would populate it). */
export function hybridTree(root: string, instance: string, opts: { memsw?: boolean; swaps?: boolean } = {}): void {
  writeTree(root, {
    'proc/self/mountinfo': HYBRID_MOUNTINFO,
    'proc/self/cgroup': HYBRID_CGROUP,
    'proc/swaps': `Filename\tType\tSize\tUsed\tPriority\n${opts.swaps ? '/swapfile file 1048572 0 -2\n' : ''}`,
  });
  const own: Record<string, string> = { cpu: '', cpuacct: '', memory: '/process_api/cd8e55a4', pids: '', blkio: '', freezer: '' };
  for (const [c, path] of Object.entries(own)) {
    cgroupDir(root, `sys/fs/cgroup/${c}${path}`, v1KernelFiles([c], opts));
    cgroupDir(root, `sys/fs/cgroup/${c}${path}/${instance}`, v1KernelFiles([c], opts));
  }
  cgroupDir(root, 'sys/fs/cgroup/unified', { 'cgroup.procs': '', 'cgroup.controllers': 'hugetlb\n', 'cgroup.subtree_control': '\n', 'cpu.stat': 'usage_usec 0\n' });
  cgroupDir(root, `sys/fs/cgroup/unified/${instance}`, v2KernelFiles([], { available: ['hugetlb'] }));
}

/** A pure v1 host with co-mounted cpu,cpuacct (LEGACY_*). */
export function legacyTree(root: string, instance: string): void {
  writeTree(root, { 'proc/self/mountinfo': LEGACY_MOUNTINFO, 'proc/self/cgroup': LEGACY_CGROUP });
  const own: Array<[string, string[], string]> = [
    ['cpu,cpuacct', ['cpu', 'cpuacct'], '/system.slice/jobctl.service'],
    ['memory', ['memory'], '/system.slice/jobctl.service'],
    ['pids', ['pids'], '/system.slice/jobctl.service'],
    ['blkio', ['blkio'], '/system.slice/jobctl.service'],
    ['freezer', ['freezer'], ''],
  ];
  for (const [mount, controllers, path] of own) {
    cgroupDir(root, `sys/fs/cgroup/${mount}${path}`, v1KernelFiles(controllers));
    cgroupDir(root, `sys/fs/cgroup/${mount}${path}/${instance}`, v1KernelFiles(controllers));
  }
}

/** A pure v2 host (UNIFIED_*): the service cgroup is offered `available` and holds the daemon (FAKE_DAEMON_PID) plus `others`. */
export function unifiedTree(root: string, instance: string, available: readonly string[], opts: { others?: number[] } = {}): string {
  writeTree(root, { 'proc/self/mountinfo': UNIFIED_MOUNTINFO, 'proc/self/cgroup': UNIFIED_CGROUP, 'proc/swaps': 'Filename\tType\tSize\tUsed\tPriority\n' });
  const own = 'sys/fs/cgroup/system.slice/jobctl.service';
  cgroupDir(root, 'sys/fs/cgroup', { 'cgroup.procs': '', 'cgroup.controllers': 'cpu io memory pids\n', 'cgroup.subtree_control': 'cpu io memory pids\n' });
  cgroupDir(root, 'sys/fs/cgroup/system.slice', { ...v2KernelFiles(['cpu', 'io', 'memory', 'pids']), 'cgroup.subtree_control': `${available.join(' ')}\n` });
  cgroupDir(root, own, { ...v2KernelFiles([], { available }), 'cgroup.procs': [FAKE_DAEMON_PID, ...(opts.others ?? [])].map((p) => `${p}\n`).join('') });
  // The kernel adds a controller's files to <instance> when <own> enables it; the fixture has them
  // up front (probe only trusts them once delegation reports the controller enabled).
  cgroupDir(root, `${own}/${instance}`, v2KernelFiles(available, { available: [] }));
  return join(root, 'sys/fs/cgroup');
}

/** A PID above the kernel's PID_MAX_LIMIT (4194304): no real process can have it, so nothing real is ever signalled. */
export const FAKE_DAEMON_PID = 5_000_001;

/** An errno-carrying error like fs throws. */
function errnoError(code: string, file: string): Error {
  return Object.assign(new Error(`${code}: ${file}`), { code });
}

/** Controllers the kernel treats as threaded (allowed in a populated cgroup's subtree_control). */
const THREADED = new Set(['cpu', 'cpuset', 'perf_event', 'pids']);

/**
 * A model of the kernel's v2 rules over a fixture tree, for delegation (verified on 6.1 in the VM):
 * - "+c" in subtree_control needs c in cgroup.controllers (else ENOENT);
 * - in a non-root cgroup holding processes, a domain controller (memory, io) is refused with EBUSY,
 *   but a threaded one (cpu, pids) is ACCEPTED and makes the cgroup a thread root ("domain threaded");
 * - below a thread root every cgroup is "domain invalid": moving a process in, or enabling a
 *   controller there, fails with EOPNOTSUPP (Node: ENOTSUP); a thread root refuses domain controllers
 *   with EOPNOTSUPP too;
 * - a PID written to cgroup.procs leaves every other cgroup.procs of the tree; a non-root cgroup with
 *   domain controllers in subtree_control takes no processes (EBUSY);
 * - cgroup.type files are kept up to date. `deny` makes every write fail with that errno.
 */
export function kernelModel(hierarchyRoot: string, opts: { deny?: string } = {}): DelegateOps & { writes: string[] } {
  const list = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean) : []);
  const pids = (dir: string): string[] => list(join(dir, 'cgroup.procs'));
  const dirsUnder = (dir: string): string[] => [
    dir,
    ...readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => dirsUnder(join(dir, e.name))),
  ];
  const procsFiles = (dir: string): string[] => dirsUnder(dir).map((d) => join(d, 'cgroup.procs')).filter((f) => existsSync(f));
  const isRoot = (dir: string): boolean => dir === hierarchyRoot;
  const isThreadRoot = (dir: string): boolean => !isRoot(dir) && pids(dir).length > 0 && list(join(dir, 'cgroup.subtree_control')).some((c) => THREADED.has(c));
  const validDomain = (dir: string): boolean => {
    for (let d = dirname(dir); d.startsWith(hierarchyRoot) && !isRoot(d); d = dirname(d)) if (isThreadRoot(d)) return false;
    return true;
  };
  const refreshTypes = (): void => {
    for (const d of dirsUnder(hierarchyRoot)) {
      const f = join(d, 'cgroup.type');
      if (existsSync(f)) writeFileSync(f, `${isThreadRoot(d) ? 'domain threaded' : validDomain(d) ? 'domain' : 'domain invalid'}\n`);
    }
  };
  const writes: string[] = [];
  return {
    writes,
    write(file: string, value: string): void {
      writes.push(`${file.slice(hierarchyRoot.length)} ${value}`);
      if (opts.deny) throw errnoError(opts.deny, file);
      const dir = dirname(file);
      const name = basename(file);
      if (name === 'cgroup.subtree_control') {
        const cur = new Set(list(file));
        for (const tok of value.split(/\s+/)) {
          const c = tok.slice(1);
          if (tok.startsWith('+')) {
            if (!list(join(dir, 'cgroup.controllers')).includes(c)) throw errnoError('ENOENT', file);
            if (cur.has(c)) continue; // already on: the kernel skips it before any check
            if (!validDomain(dir)) throw errnoError('ENOTSUP', file);
            if (!isRoot(dir) && !THREADED.has(c)) {
              if (isThreadRoot(dir)) throw errnoError('ENOTSUP', file);
              if (pids(dir).length > 0) throw errnoError('EBUSY', file);
            }
            cur.add(c);
          } else cur.delete(c);
        }
        writeFileSync(file, `${[...cur].join(' ')}\n`);
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          if (e.isDirectory()) writeFileSync(join(dir, e.name, 'cgroup.controllers'), `${[...cur].join(' ')}\n`);
        }
      } else if (name === 'cgroup.procs') {
        if (!existsSync(dir)) throw errnoError('ENOENT', file);
        if (!isRoot(dir) && !validDomain(dir)) throw errnoError('ENOTSUP', file);
        if (!isRoot(dir) && list(join(dir, 'cgroup.subtree_control')).some((c) => !THREADED.has(c))) throw errnoError('EBUSY', file);
        for (const f of procsFiles(hierarchyRoot)) writeFileSync(f, list(f).filter((p) => p !== value.trim()).map((p) => `${p}\n`).join(''));
        writeFileSync(file, `${[...list(file), value.trim()].join('\n')}\n`);
      } else {
        if (!existsSync(file)) throw errnoError('ENOENT', file);
        writeFileSync(file, value);
      }
      refreshTypes();
    },
    mkdir(dir: string): void {
      if (existsSync(dir)) return;
      mkdirSync(dir);
      writeFileSync(join(dir, 'cgroup.procs'), '');
      writeFileSync(join(dir, 'cgroup.subtree_control'), '\n');
      writeFileSync(join(dir, 'cgroup.controllers'), `${list(join(dirname(dir), 'cgroup.subtree_control')).join(' ')}\n`);
      writeFileSync(join(dir, 'cgroup.type'), 'domain\n');
      refreshTypes();
    },
    read(file: string): string {
      return readFileSync(file, 'utf8');
    },
  };
}
