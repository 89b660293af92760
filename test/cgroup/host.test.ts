// The host over fixture roots: capabilities per layout, refusal messages, job directory placement,
// rollback, leftovers of this instance only. Fixture directories are plain directories, so writes
// into a fresh job directory fail like a kernel without the feature would (ENOENT).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openCgroupHost } from '../../src/cgroup/index.ts';
import { createCgroupHost } from '../../src/cgroup/host.ts';
import {
  CONTAINER_CGROUP, CONTAINER_MOUNTINFO, FAKE_DAEMON_PID, cgroupDir, hybridTree, kernelModel, legacyTree, unifiedTree, v1KernelFiles,
} from './fixtures.ts';
import { readTree, tempDir, writeTree } from './helpers.ts';

const INST = 'jobctl-abc';
const MiB = 1024 * 1024;

type CodedError = Error & { code?: string; details?: Record<string, unknown> };

/** A temp root removed after the test. */
function fixtureRoot(t: { after: (fn: () => void) => void }): string {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  return dir;
}

/** Asserts fn throws a coded error whose message matches every pattern. */
function throwsCoded(fn: () => unknown, code: string, ...patterns: RegExp[]): CodedError {
  let caught: CodedError | undefined;
  assert.throws(fn, (err: CodedError) => {
    caught = err;
    assert.equal(err.code, code, err.message);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
  return caught as CodedError;
}

describe('hybrid host (this machine kind)', () => {
  test('capabilities: limits through v1, ioWrite refused (writeback), kill through cgroup.kill on cgroup2', (t) => {
    const root = fixtureRoot(t);
    hybridTree(root, INST);
    const c = openCgroupHost({ root, instance: INST }).capabilities;
    assert.equal(c.layout, 'hybrid');
    assert.equal(c.killMethod, 'cgroup.kill');
    assert.deepEqual(c.usage, { cpu: true, memory: true, pids: true });
    assert.equal(c.oomDetection, true);
    assert.deepEqual(c.warnings, []);
    for (const n of ['cpu', 'memory', 'pids', 'ioRead'] as const) {
      assert.equal(c.limits[n].enforceable, true, `${n}: ${c.limits[n].reason}`);
      assert.match(c.limits[n].via ?? '', /^cgroup v1 /);
    }
    assert.match(c.limits.memory.via ?? '', new RegExp(`memory\\.memsw\\.limit_in_bytes under ${root}/sys/fs/cgroup/memory/process_api/cd8e55a4/${INST}$`));
    assert.deepEqual(c.limits.ioWrite, {
      enforceable: false,
      via: null,
      reason: 'cgroup v1 blkio does not throttle buffered writeback (measured: 80 MB/s escaped a 5 MiB/s limit), so a write limit would not hold',
      fix: 'run jobctl on a host with cgroup v2 (the unified hierarchy; systemd.unified_cgroup_hierarchy=1 on the kernel command line), or drop --io-write',
    });
    const unified = c.hierarchies.find((h) => h.version === 2);
    assert.deepEqual(unified, { version: 2, mountPoint: '/sys/fs/cgroup/unified', controllers: ['hugetlb'], ownPath: '/' });
    assert.equal(c.hierarchies.find((h) => h.controllers.includes('memory'))?.ownPath, '/process_api/cd8e55a4');
  });

  test('checkLimits: ioWrite refused naming the limit, the reason and the fix; bad values are INVALID_ARGUMENT', (t) => {
    const root = fixtureRoot(t);
    hybridTree(root, INST);
    const host = openCgroupHost({ root, instance: INST });
    const err = throwsCoded(() => host.checkLimits({ memory: MiB, ioWrite: 10 * MiB }, '/tmp'), 'LIMIT_UNENFORCEABLE', /ioWrite/, /writeback/, /Fix: run jobctl on a host with cgroup v2/);
    assert.equal(err.details?.limit, 'ioWrite');
    throwsCoded(() => host.checkLimits({ memory: -5 }, '/tmp'), 'INVALID_ARGUMENT', /limits\.memory -5/);
    throwsCoded(() => host.checkLimits({ cpu: Number.NaN }, '/tmp'), 'INVALID_ARGUMENT', /limits\.cpu NaN/);
    host.checkLimits({ cpu: 0.5, memory: MiB, pids: 10 }, '/tmp');
  });

  test('io on a filesystem without a block device is refused naming cwd', (t) => {
    const root = fixtureRoot(t);
    hybridTree(root, INST);
    const host = openCgroupHost({ root, instance: INST });
    // root itself (a temp dir) is not in the fixture sysfs, whatever it is on: no block device to throttle.
    const err = throwsCoded(() => host.checkLimits({ ioRead: MiB }, root), 'LIMIT_UNENFORCEABLE', new RegExp(`cwd ${JSON.stringify(root).replace(/[/.]/g, '\\$&')}`), /no block device/, /Fix: run the job in a directory on a disk-backed filesystem/);
    assert.equal(err.details?.limit, 'ioRead');
    assert.equal(err.details?.cwd, root);
  });

  test('swap without memsw: a warning, and the limit is still enforceable', (t) => {
    const root = fixtureRoot(t);
    hybridTree(root, INST, { memsw: false, swaps: true });
    const c = openCgroupHost({ root, instance: INST }).capabilities;
    assert.equal(c.limits.memory.enforceable, true);
    assert.equal(c.limits.memory.via, `cgroup v1 memory.limit_in_bytes under ${root}/sys/fs/cgroup/memory/process_api/cd8e55a4/${INST}`);
    assert.ok(c.warnings.some((w) => /^memory: swap accounting off/.test(w) && /swappiness=0/.test(w)), c.warnings.join('\n'));
  });

  test('createJob: tracking dir first, then usage hierarchies; under <own>/<instance>; remove() clears them', async (t) => {
    const root = fixtureRoot(t);
    hybridTree(root, INST);
    const host = openCgroupHost({ root, instance: INST });
    const job = host.createJob('job-1', {}, '/tmp');
    assert.ok(job);
    const cg = `${root}/sys/fs/cgroup`;
    // Every join costs an RCU grace period in the kernel: CPU time comes from cgroup2's cpu.stat,
    // and pids/cpu hierarchies are joined only for their limits (kernel.test.ts checks a pids job).
    assert.deepEqual(job.dirs, [`${cg}/unified/${INST}/job-1`, `${cg}/memory/process_api/cd8e55a4/${INST}/job-1`]);
    assert.deepEqual(job.procsFiles, job.dirs.map((d) => `${d}/cgroup.procs`));
    for (const d of job.dirs) assert.ok(existsSync(d));
    assert.deepEqual(job.pids(), []);
    assert.equal(await job.waitEmpty(0), true);
    await job.remove();
    for (const d of job.dirs) assert.equal(existsSync(d), false);
  });

  test('createJob: a failed limit write removes every directory it created and names file, value, errno', (t) => {
    const root = fixtureRoot(t);
    hybridTree(root, INST);
    const host = openCgroupHost({ root, instance: INST });
    const cg = `${root}/sys/fs/cgroup`;
    const err = throwsCoded(
      () => host.createJob('job-2', { cpu: 0.25 }, '/tmp'),
      'LIMIT_UNENFORCEABLE',
      new RegExp(`failed to write "100000" to ${cg}/cpu/${INST}/job-2/cpu\\.cfs_period_us: ENOENT`),
    );
    assert.equal(err.details?.errno, 'ENOENT');
    for (const c of ['unified', 'cpu', 'cpuacct', 'memory/process_api/cd8e55a4', 'pids']) assert.equal(existsSync(`${cg}/${c}/${INST}/job-2`), false, c);
  });

  test('job keys and instance names are single safe path segments', (t) => {
    const root = fixtureRoot(t);
    hybridTree(root, INST);
    const host = openCgroupHost({ root, instance: INST });
    for (const key of ['../x', 'a/b', '', '.hidden', 'supervisor']) throwsCoded(() => host.createJob(key, {}, '/tmp'), 'INVALID_ARGUMENT', /job key/);
    for (const instance of ['..', 'x/y', '', ' x']) throwsCoded(() => openCgroupHost({ root, instance }), 'INVALID_ARGUMENT', /instance/);
    throwsCoded(() => openCgroupHost({ root: 'relative', instance: INST }), 'INVALID_ARGUMENT', /root/);
  });

  test('cleanupLeftovers: only this instance\'s job dirs, in every hierarchy; other instances and the supervisor leaf untouched', async (t) => {
    const root = fixtureRoot(t);
    const other = 'jobctl-other';
    hybridTree(root, INST);
    const cg = `${root}/sys/fs/cgroup`;
    const mine = [`unified/${INST}/job-1`, `memory/process_api/cd8e55a4/${INST}/job-1`, `pids/${INST}/job-7`, `cpuacct/${INST}/job-3`];
    const theirs = [`unified/${other}/job-1`, `memory/process_api/cd8e55a4/${other}/job-2`];
    for (const d of [...mine, ...theirs, `unified/${INST}/supervisor`]) mkdirSync(join(cg, d), { recursive: true });
    const host = openCgroupHost({ root, instance: INST });
    assert.deepEqual(await host.cleanupLeftovers(), ['job-1', 'job-3', 'job-7']);
    for (const d of mine) assert.equal(existsSync(join(cg, d)), false, d);
    for (const d of theirs) assert.equal(existsSync(join(cg, d)), true, d);
    assert.equal(existsSync(join(cg, `unified/${INST}/supervisor`)), true);
    assert.deepEqual(await host.cleanupLeftovers(), []);
  });

  test('dispose refuses while job dirs remain', async (t) => {
    const root = fixtureRoot(t);
    hybridTree(root, INST);
    const host = openCgroupHost({ root, instance: INST });
    host.createJob('job-1', {}, '/tmp');
    await assert.rejects(host.dispose(), (err: CodedError) => {
      assert.equal(err.code, 'CONFLICT');
      assert.match(err.message, /job-1/);
      return true;
    });
  });
});

describe('legacy host with co-mounted cpu,cpuacct', () => {
  test('freezer kill, one directory for cpu and cpuacct, tracking in the freezer hierarchy', async (t) => {
    const root = fixtureRoot(t);
    legacyTree(root, INST);
    const host = openCgroupHost({ root, instance: INST });
    const c = host.capabilities;
    assert.equal(c.layout, 'legacy');
    assert.equal(c.killMethod, 'freezer');
    assert.equal(c.limits.cpu.enforceable, true);
    assert.match(c.limits.cpu.via ?? '', /cpu\.cfs_period_us \+ cpu\.cfs_quota_us under .*\/cpu,cpuacct\/system\.slice\/jobctl\.service\/jobctl-abc$/);
    assert.equal(c.limits.ioWrite.enforceable, false);
    const job = host.createJob('job-1', {}, '/tmp');
    assert.ok(job);
    const cg = `${root}/sys/fs/cgroup`;
    // Pure v1: CPU time needs cpuacct; pids is joined only for a pids limit.
    assert.deepEqual(job.dirs, [
      `${cg}/freezer/${INST}/job-1`,
      `${cg}/cpu,cpuacct/system.slice/jobctl.service/${INST}/job-1`,
      `${cg}/memory/system.slice/jobctl.service/${INST}/job-1`,
    ]);
    await job.remove();
  });
});

describe('container view (mount roots are /docker/<id>)', () => {
  test('instance dirs go right under the mount points (and under /worker for memory)', (t) => {
    const root = fixtureRoot(t);
    writeTree(root, { 'proc/self/mountinfo': CONTAINER_MOUNTINFO, 'proc/self/cgroup': CONTAINER_CGROUP });
    for (const [dir, ctl] of [['pids', ['pids']], ['memory/worker', ['memory']], ['cpu,cpuacct', ['cpu', 'cpuacct']], ['freezer', ['freezer']]] as const) {
      cgroupDir(root, `sys/fs/cgroup/${dir}/${INST}`, v1KernelFiles(ctl));
    }
    const c = openCgroupHost({ root, instance: INST }).capabilities;
    assert.equal(c.layout, 'legacy');
    assert.equal(c.limits.memory.via, `cgroup v1 memory.limit_in_bytes + memory.memsw.limit_in_bytes under ${root}/sys/fs/cgroup/memory/worker/${INST}`);
    assert.equal(c.limits.ioRead.enforceable, false);
    assert.match(c.limits.ioRead.reason ?? '', /no cgroup v1 hierarchy with the blkio controller/);
  });
});

describe('unified host (pure v2), delegation modelled', () => {
  const OWN = 'sys/fs/cgroup/system.slice/jobctl.service';

  test('alone in its service cgroup: moves into a leaf, cpu/memory/pids enforceable, io not offered → reason and fix', async (t) => {
    const root = fixtureRoot(t);
    const cgRoot = unifiedTree(root, INST, ['cpu', 'memory', 'pids']);
    const host = createCgroupHost({ root, instance: INST }, { delegateOps: kernelModel(cgRoot), pid: FAKE_DAEMON_PID });
    const c = host.capabilities;
    assert.equal(c.layout, 'unified');
    assert.equal(c.killMethod, 'cgroup.kill');
    for (const n of ['cpu', 'memory', 'pids'] as const) assert.equal(c.limits[n].enforceable, true, `${n}: ${c.limits[n].reason}`);
    assert.equal(c.limits.memory.via, `cgroup v2 memory.max under ${root}/${OWN}/${INST}`);
    assert.equal(c.limits.ioRead.enforceable, false);
    assert.match(c.limits.ioRead.reason ?? '', /io controller not available to the daemon's cgroup \/system\.slice\/jobctl\.service/);
    assert.match(c.limits.ioRead.fix ?? '', /Delegate=yes/);
    assert.deepEqual(c.usage, { cpu: true, memory: true, pids: true });
    assert.equal(readTree(root, `${OWN}/${INST}/supervisor/cgroup.procs`).trim(), String(FAKE_DAEMON_PID));
    throwsCoded(() => host.checkLimits({ ioWrite: MiB }, '/tmp'), 'LIMIT_UNENFORCEABLE', /ioWrite/, /cgroup\.controllers/, /Fix: delegate it/);

    const job = host.createJob('job-1', {}, '/tmp');
    assert.deepEqual(job?.dirs, [`${root}/${OWN}/${INST}/job-1`]);
    await job?.remove();
    // dispose moves the daemon back to <own> after turning off what it enabled there; the fixture's
    // plain directories then refuse rmdir (ENOTEMPTY), which a real cgroupfs would not.
    await assert.rejects(host.dispose(), /ENOTEMPTY/);
    assert.equal(readTree(root, `${OWN}/cgroup.procs`).trim(), String(FAKE_DAEMON_PID));
    assert.equal(readTree(root, `${OWN}/cgroup.subtree_control`).trim(), '');
  });

  test('sharing the cgroup with other processes: limits unenforceable (EBUSY), jobs still tracked and killable', (t) => {
    const root = fixtureRoot(t);
    const cgRoot = unifiedTree(root, INST, ['cpu', 'memory', 'pids'], { others: [5_000_002] });
    const host = createCgroupHost({ root, instance: INST }, { delegateOps: kernelModel(cgRoot), pid: FAKE_DAEMON_PID });
    const c = host.capabilities;
    assert.equal(c.killMethod, 'cgroup.kill');
    assert.equal(c.limits.memory.enforceable, false);
    assert.equal(c.usage.memory, false);
    const err = throwsCoded(() => host.checkLimits({ memory: 256 * MiB }, '/tmp'), 'LIMIT_UNENFORCEABLE', /memory limit \(268435456\)/, /EBUSY/, /other processes \(pids 5000002\) share/, /Fix: give the daemon a cgroup of its own.*Delegate=yes/);
    assert.equal(err.details?.limit, 'memory');
    assert.ok(host.createJob('job-1', {}, '/tmp'), 'a job without limits still gets a tracking cgroup');
  });

  test('nothing delegated: every limit refused, CPU time still measured (cpu.stat)', (t) => {
    const root = fixtureRoot(t);
    const cgRoot = unifiedTree(root, INST, []);
    const c = createCgroupHost({ root, instance: INST }, { delegateOps: kernelModel(cgRoot), pid: FAKE_DAEMON_PID }).capabilities;
    for (const n of ['cpu', 'memory', 'pids', 'ioRead', 'ioWrite'] as const) assert.equal(c.limits[n].enforceable, false, n);
    assert.deepEqual(c.usage, { cpu: true, memory: false, pids: true });
    assert.equal(c.oomDetection, false);
  });

  test('a daemon already in <own>/<instance>/supervisor keeps <own> as its own cgroup', (t) => {
    const root = fixtureRoot(t);
    const cgRoot = unifiedTree(root, INST, ['memory']);
    writeTree(root, { 'proc/self/cgroup': `0::/system.slice/jobctl.service/${INST}/supervisor\n` });
    const c = createCgroupHost({ root, instance: INST }, { delegateOps: kernelModel(cgRoot), pid: FAKE_DAEMON_PID }).capabilities;
    assert.equal(c.hierarchies[0]?.ownPath, '/system.slice/jobctl.service');
    assert.equal(c.limits.memory.via, `cgroup v2 memory.max under ${root}/${OWN}/${INST}`);
  });
});

describe('no cgroups at all', () => {
  test('layout none: process-group kill, every limit refused with a fix, createJob returns null', (t) => {
    const root = fixtureRoot(t);
    writeTree(root, { 'proc/self/mountinfo': '27 1 254:0 / / rw - ext4 /dev/vda rw\n', 'proc/self/cgroup': '' });
    const host = openCgroupHost({ root, instance: INST });
    const c = host.capabilities;
    assert.equal(c.layout, 'none');
    assert.equal(c.killMethod, 'process-group');
    assert.ok(c.warnings.some((w) => /process group/.test(w)));
    assert.deepEqual(c.usage, { cpu: false, memory: false, pids: false });
    assert.equal(host.createJob('job-1', {}, '/tmp'), null);
    throwsCoded(() => host.createJob('job-1', { pids: 10 }, '/tmp'), 'LIMIT_UNENFORCEABLE', /pids/, /no cgroup hierarchy is mounted/, /Fix: mount cgroup2/);
  });

  test('unreadable /proc files read as no cgroups, with a warning', (t) => {
    const root = fixtureRoot(t);
    const c = openCgroupHost({ root, instance: INST }).capabilities;
    assert.equal(c.layout, 'none');
    assert.match(c.warnings[0] ?? '', /cannot read/);
  });
});
