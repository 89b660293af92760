// Pure parsing: mountinfo and /proc/self/cgroup for every layout, and the per-controller choice.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMountinfo, parseProcCgroup, unescapeMountField } from '../../src/cgroup/mountinfo.ts';
import { chooseBackends, detectLayout } from '../../src/cgroup/index.ts';
import {
  CONTAINER_CGROUP, CONTAINER_MOUNTINFO, HYBRID_CGROUP, HYBRID_MOUNTINFO, LEGACY_CGROUP, LEGACY_MOUNTINFO, UNIFIED_CGROUP, UNIFIED_MOUNTINFO,
} from './fixtures.ts';

describe('mountinfo parser', () => {
  test('reads fields around optional fields and the "-" separator', () => {
    const [m] = parseMountinfo('30 24 0:26 / /sys/fs/cgroup rw,nosuid,relatime shared:9 master:2 - cgroup2 cgroup2 rw,nsdelegate\n');
    assert.ok(m);
    assert.equal(m.id, 30);
    assert.equal(m.parentId, 24);
    assert.deepEqual([m.major, m.minor], [0, 26]);
    assert.equal(m.root, '/');
    assert.equal(m.mountPoint, '/sys/fs/cgroup');
    assert.equal(m.fsType, 'cgroup2');
    assert.equal(m.source, 'cgroup2');
    assert.deepEqual(m.superOptions, ['rw', 'nsdelegate']);
  });

  test('undoes octal escapes (\\040 space, \\011 tab, \\012 newline, \\134 backslash)', () => {
    assert.equal(unescapeMountField('/mnt/my\\040cgroups\\011x\\012y\\134z'), '/mnt/my cgroups\tx\ny\\z');
    const [m] = parseMountinfo('41 31 0:38 /a\\040b /mnt/cg\\040two rw - cgroup2 cgroup2 rw\n');
    assert.equal(m?.root, '/a b');
    assert.equal(m?.mountPoint, '/mnt/cg two');
  });

  test('skips malformed lines instead of throwing', () => {
    assert.deepEqual(parseMountinfo('garbage\n\n1 2 3\n'), []);
    assert.equal(parseMountinfo(HYBRID_MOUNTINFO + 'truncated line without sep').length, 15);
  });

  test('/proc/self/cgroup: v1 lists, v2 empty list, colons inside the path', () => {
    const e = parseProcCgroup('4:memory:/process_api/x\n2:cpu,cpuacct:/a:b\n1:name=systemd:/\n0::/user.slice\n');
    assert.deepEqual(e, [
      { hierarchyId: 4, controllers: ['memory'], path: '/process_api/x' },
      { hierarchyId: 2, controllers: ['cpu', 'cpuacct'], path: '/a:b' },
      { hierarchyId: 1, controllers: ['name=systemd'], path: '/' },
      { hierarchyId: 0, controllers: [], path: '/user.slice' },
    ]);
  });
});

describe('detectLayout', () => {
  test('hybrid (this machine): separate cpu and cpuacct, memory in an infrastructure cgroup, controller-less cgroup2', () => {
    const l = detectLayout(HYBRID_MOUNTINFO, HYBRID_CGROUP);
    assert.equal(l.kind, 'hybrid');
    const byName = (c: string) => l.hierarchies.find((h) => h.controllers.includes(c));
    assert.equal(byName('cpu')?.ownDir, '/sys/fs/cgroup/cpu');
    assert.equal(byName('cpuacct')?.ownDir, '/sys/fs/cgroup/cpuacct');
    assert.notEqual(byName('cpu'), byName('cpuacct'));
    assert.equal(byName('memory')?.ownDir, '/sys/fs/cgroup/memory/process_api/cd8e55a4');
    assert.equal(byName('memory')?.ownPath, '/process_api/cd8e55a4');
    const v2 = l.hierarchies.find((h) => h.version === 2);
    assert.equal(v2?.mountPoint, '/sys/fs/cgroup/unified');
    assert.equal(v2?.ownDir, '/sys/fs/cgroup/unified');
    assert.ok(byName('name=systemd'), 'named hierarchy is listed (but never used for limits)');
    assert.deepEqual(l.warnings, []);
  });

  test('unified: one cgroup2 hierarchy, own path from "0::"', () => {
    const l = detectLayout(UNIFIED_MOUNTINFO, UNIFIED_CGROUP);
    assert.equal(l.kind, 'unified');
    assert.equal(l.hierarchies.length, 1);
    assert.equal(l.hierarchies[0]?.ownDir, '/sys/fs/cgroup/system.slice/jobctl.service');
  });

  test('legacy with co-mounted cpu,cpuacct: one hierarchy for both, matched regardless of list order', () => {
    const l = detectLayout(LEGACY_MOUNTINFO, LEGACY_CGROUP);
    assert.equal(l.kind, 'legacy');
    const cpu = l.hierarchies.find((h) => h.controllers.includes('cpu'));
    assert.equal(cpu, l.hierarchies.find((h) => h.controllers.includes('cpuacct')));
    assert.equal(cpu?.ownDir, '/sys/fs/cgroup/cpu,cpuacct/system.slice/jobctl.service');
    assert.equal(l.hierarchies.find((h) => h.controllers.includes('freezer'))?.ownDir, '/sys/fs/cgroup/freezer');
    assert.ok(l.hierarchies.some((h) => h.controllers.includes('net_cls') && h.controllers.includes('net_prio')));
  });

  test('container view: mount root /docker/<id> is stripped from the own path', () => {
    const l = detectLayout(CONTAINER_MOUNTINFO, CONTAINER_CGROUP);
    assert.equal(l.kind, 'legacy');
    const dir = (c: string) => l.hierarchies.find((h) => h.controllers.includes(c))?.ownDir;
    assert.equal(dir('pids'), '/sys/fs/cgroup/pids');
    assert.equal(dir('memory'), '/sys/fs/cgroup/memory/worker');
    assert.equal(dir('cpu'), '/sys/fs/cgroup/cpu,cpuacct');
  });

  test('own cgroup outside the mounted part is not used, with a warning', () => {
    const l = detectLayout(CONTAINER_MOUNTINFO, '8:memory:/elsewhere\n12:pids:/docker/abc123\n');
    assert.equal(l.hierarchies.find((h) => h.controllers.includes('memory')), undefined);
    assert.ok(l.warnings.some((w) => w.includes('memory') && w.includes('/elsewhere')), l.warnings.join('\n'));
  });

  test('an escaped mount point is unescaped in ownDir', () => {
    const l = detectLayout('41 31 0:38 / /mnt/my\\040cg rw - cgroup2 cgroup2 rw\n', '0::/a b\n');
    assert.equal(l.hierarchies[0]?.ownDir, '/mnt/my cg/a b');
  });

  test('bind mounts of one hierarchy: the widest view wins', () => {
    const mi = '50 1 0:26 /system.slice /mnt/narrow rw - cgroup2 cgroup2 rw\n30 24 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n';
    const l = detectLayout(mi, '0::/system.slice/x.service\n');
    assert.equal(l.hierarchies[0]?.ownDir, '/sys/fs/cgroup/system.slice/x.service');
  });

  test('only name=systemd and nothing else is layout "none"; no mounts at all is "none"', () => {
    assert.equal(detectLayout('40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n', '1:name=systemd:/\n').kind, 'none');
    assert.equal(detectLayout('', '').kind, 'none');
  });
});

describe('chooseBackends', () => {
  test('hybrid: limits through v1, tracking through the cgroup2 mount, cpu time from cpuacct', () => {
    const l = detectLayout(HYBRID_MOUNTINFO, HYBRID_CGROUP);
    const p = chooseBackends(l, ['hugetlb']);
    assert.equal(p.track?.version, 2);
    for (const c of ['cpu', 'memory', 'pids', 'io'] as const) assert.equal(p[c]?.version, 1, c);
    assert.deepEqual(p.io?.hierarchy.controllers, ['blkio']);
    assert.deepEqual(p.cpuUsage?.hierarchy.controllers, ['cpuacct']);
    assert.deepEqual(p.v2Wanted, []);
    assert.ok(p.freezer);
  });

  test('a controller in the own cgroup.controllers goes to v2, others stay v1 when mounted', () => {
    const l = detectLayout(HYBRID_MOUNTINFO, HYBRID_CGROUP);
    const p = chooseBackends(l, ['memory', 'pids']);
    assert.equal(p.memory?.version, 2);
    assert.equal(p.pids?.version, 2);
    assert.equal(p.cpu?.version, 1);
    assert.deepEqual(p.v2Wanted, ['memory', 'pids']);
  });

  test('unified: everything v2; a controller not delegated has no backend', () => {
    const l = detectLayout(UNIFIED_MOUNTINFO, UNIFIED_CGROUP);
    const p = chooseBackends(l, ['cpu', 'memory', 'pids']);
    assert.equal(p.io, null);
    assert.equal(p.cpuUsage?.version, 2);
    assert.deepEqual(p.v2Wanted, ['cpu', 'memory', 'pids']);
    const none = chooseBackends(l, []);
    assert.equal(none.memory, null);
    assert.equal(none.cpuUsage?.version, 2, 'cpu.stat exists without the cpu controller');
  });

  test('legacy: tracking prefers the freezer hierarchy; co-mounted cpu,cpuacct serves both', () => {
    const l = detectLayout(LEGACY_MOUNTINFO, LEGACY_CGROUP);
    const p = chooseBackends(l, []);
    assert.deepEqual(p.track?.controllers, ['freezer']);
    assert.equal(p.cpu?.hierarchy, p.cpuUsage?.hierarchy);
  });
});
