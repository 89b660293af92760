// v1/v2 drivers against temp directories holding the kernel's file names and formats: which files
// are written, with what, in which order; and how usage figures are parsed.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as v1 from '../../src/cgroup/v1.ts';
import * as v2 from '../../src/cgroup/v2.ts';
import { applyWrites, writeValue } from '../../src/cgroup/files.ts';
import { cpuQuotaUs, validateLimits } from '../../src/cgroup/limits.ts';
import { CgroupJob } from '../../src/cgroup/job.ts';
import { cgroupDir, v1KernelFiles, v2KernelFiles } from './fixtures.ts';
import { readTree, tempDir, writeTree } from './helpers.ts';

const MiB = 1024 * 1024;
const disk = { major: 254, minor: 0 };

/** The file names of writes, relative to dir, in order. */
const names = (writes: Array<{ file: string }>, dir: string): string[] => writes.map((w) => w.file.slice(dir.length + 1));

describe('cpu quota', () => {
  test('round(cpus × 100000), at least 1000 µs', () => {
    assert.equal(cpuQuotaUs(0.5), 50_000);
    assert.equal(cpuQuotaUs(2), 200_000);
    assert.equal(cpuQuotaUs(1.234567), 123_457);
    assert.equal(cpuQuotaUs(0.001), 1_000);
    assert.equal(cpuQuotaUs(0.0001), 1_000);
  });
});

describe('v1 writers', () => {
  test('memory: limit_in_bytes THEN memsw.limit_in_bytes, same value', (t) => {
    const { dir: root, cleanup } = tempDir();
    t.after(cleanup);
    cgroupDir(root, 'job', v1KernelFiles(['memory']));
    const dir = join(root, 'job');
    const writes = v1.memoryWrites(dir, 32 * MiB, true);
    assert.deepEqual(names(writes, dir), ['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes']);
    assert.ok(writes.every((w) => w.limit === 'memory'));
    applyWrites(writes);
    assert.equal(readTree(root, 'job/memory.limit_in_bytes'), String(32 * MiB));
    assert.equal(readTree(root, 'job/memory.memsw.limit_in_bytes'), String(32 * MiB));
    assert.equal(readTree(root, 'job/memory.swappiness'), '60\n', 'swappiness untouched when memsw exists');
  });

  test('memory without memsw: swappiness 0 when the host has swap, nothing more without swap', (t) => {
    const { dir: root, cleanup } = tempDir();
    t.after(cleanup);
    cgroupDir(root, 'job', v1KernelFiles(['memory'], { memsw: false }));
    const dir = join(root, 'job');
    assert.deepEqual(names(v1.memoryWrites(dir, MiB, true), dir), ['memory.limit_in_bytes', 'memory.swappiness']);
    assert.deepEqual(names(v1.memoryWrites(dir, MiB, false), dir), ['memory.limit_in_bytes']);
    applyWrites(v1.memoryWrites(dir, MiB, true));
    assert.equal(readTree(root, 'job/memory.swappiness'), '0');
  });

  test('cpu: cfs_period_us = 100000 first, then cfs_quota_us', (t) => {
    const { dir: root, cleanup } = tempDir();
    t.after(cleanup);
    cgroupDir(root, 'job', v1KernelFiles(['cpu']));
    const dir = join(root, 'job');
    const writes = v1.cpuWrites(dir, 0.5);
    assert.deepEqual(names(writes, dir), ['cpu.cfs_period_us', 'cpu.cfs_quota_us']);
    applyWrites(writes);
    assert.equal(readTree(root, 'job/cpu.cfs_period_us'), '100000');
    assert.equal(readTree(root, 'job/cpu.cfs_quota_us'), '50000');
  });

  test('pids.max and blkio read "MAJ:MIN N"', (t) => {
    const { dir: root, cleanup } = tempDir();
    t.after(cleanup);
    cgroupDir(root, 'job', v1KernelFiles(['pids', 'blkio']));
    const dir = join(root, 'job');
    applyWrites([...v1.pidsWrites(dir, 50), ...v1.blkioReadWrites(dir, disk, 5 * MiB)]);
    assert.equal(readTree(root, 'job/pids.max'), '50');
    assert.equal(readTree(root, 'job/blkio.throttle.read_bps_device'), `254:0 ${5 * MiB}`);
    assert.equal(readTree(root, 'job/blkio.throttle.write_bps_device'), '', 'v1 never writes a write throttle');
  });
});

describe('v2 writers', () => {
  test('memory: memory.max, memory.swap.max=0, memory.oom.group=1, in that order', (t) => {
    const { dir: root, cleanup } = tempDir();
    t.after(cleanup);
    cgroupDir(root, 'job', v2KernelFiles(['memory']));
    const dir = join(root, 'job');
    const writes = v2.memoryWrites(dir, 256 * MiB);
    assert.deepEqual(names(writes, dir), ['memory.max', 'memory.swap.max', 'memory.oom.group']);
    applyWrites(writes);
    assert.equal(readTree(root, 'job/memory.max'), String(256 * MiB));
    assert.equal(readTree(root, 'job/memory.swap.max'), '0');
    assert.equal(readTree(root, 'job/memory.oom.group'), '1');
  });

  test('memory without swap accounting: only the files that exist are written', (t) => {
    const { dir: root, cleanup } = tempDir();
    t.after(cleanup);
    cgroupDir(root, 'job', v2KernelFiles(['memory'], { swap: false }));
    const dir = join(root, 'job');
    assert.deepEqual(names(v2.memoryWrites(dir, MiB), dir), ['memory.max', 'memory.oom.group']);
  });

  test('cpu.max "Q 100000", pids.max, io.max "MAJ:MIN rbps=N wbps=N"', (t) => {
    const { dir: root, cleanup } = tempDir();
    t.after(cleanup);
    cgroupDir(root, 'job', v2KernelFiles(['cpu', 'pids', 'io']));
    const dir = join(root, 'job');
    applyWrites([...v2.cpuWrites(dir, 1.5), ...v2.pidsWrites(dir, 100), ...v2.ioWrites(dir, { major: 8, minor: 0 }, { read: MiB, write: 2 * MiB })]);
    assert.equal(readTree(root, 'job/cpu.max'), '150000 100000');
    assert.equal(readTree(root, 'job/pids.max'), '100');
    assert.equal(readTree(root, 'job/io.max'), `8:0 rbps=${MiB} wbps=${2 * MiB}`);
    assert.equal(v2.ioWrites(dir, disk, { write: 7 })[0]?.value, '254:0 wbps=7');
    assert.equal(v2.ioWrites(dir, disk, { read: 7 })[0]?.value, '254:0 rbps=7');
    assert.deepEqual(v2.ioWrites(dir, disk, {}), []);
  });
});

describe('writeValue errors', () => {
  test('a missing file is not created; the error names limit, value, file and errno', (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const file = join(dir, 'cpu.max');
    assert.throws(() => writeValue(file, 'max 100000', 'cpu'), (err: Error & { code?: string; details?: Record<string, unknown> }) => {
      assert.equal(err.code, 'LIMIT_UNENFORCEABLE');
      assert.equal(err.message, `cpu limit: failed to write "max 100000" to ${file}: ENOENT (no such file or directory)`);
      assert.deepEqual(err.details, { limit: 'cpu', file, value: 'max 100000', errno: 'ENOENT' });
      return true;
    });
    assert.throws(() => writeValue(file, '1'), { code: 'INTERNAL' });
  });
});

describe('stats', () => {
  test('v1: cpuacct ns → µs, usage and max_usage, pids.current, oom_kill from memory.oom_control', (t) => {
    const { dir: root, cleanup } = tempDir();
    t.after(cleanup);
    writeTree(root, {
      'cpuacct/job/cpuacct.usage': '1234567890\n',
      'memory/job/memory.usage_in_bytes': '4096\n',
      'memory/job/memory.max_usage_in_bytes': '33554432\n',
      'memory/job/memory.failcnt': '999\n',
      'memory/job/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 3\n',
      'pids/job/pids.current': '7\n',
    });
    const job = new CgroupJob({
      key: 'job-1', dirs: [], procsFiles: [], track: null, freezerV1: null, killMethod: 'kill-loop',
      cpuUsage: { version: 1, dir: join(root, 'cpuacct/job') },
      memory: { version: 1, dir: join(root, 'memory/job') },
      pidsCounter: { version: 1, dir: join(root, 'pids/job') },
    });
    assert.deepEqual(job.stats(), { cpuUsec: 1_234_567, memoryBytes: 4096, memoryPeakBytes: 33_554_432, pids: 7, oomKills: 3 });
  });

  test('v2: cpu.stat usage_usec, memory.current/peak, memory.events oom_kill and oom_group_kill', (t) => {
    const { dir: root, cleanup } = tempDir();
    t.after(cleanup);
    writeTree(root, {
      'job/cpu.stat': 'usage_usec 52000\nuser_usec 40000\nsystem_usec 12000\n',
      'job/memory.current': '8192\n',
      'job/memory.peak': '65536\n',
      'job/memory.events': 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 0\noom_group_kill 1\n',
      'job/pids.current': '2\n',
    });
    const dir = join(root, 'job');
    const spec = {
      key: 'job-1', dirs: [], procsFiles: [], track: null, freezerV1: null, killMethod: 'cgroup.kill' as const,
      cpuUsage: { version: 2 as const, dir }, memory: { version: 2 as const, dir }, pidsCounter: { version: 2 as const, dir },
    };
    assert.deepEqual(new CgroupJob(spec).stats(), { cpuUsec: 52_000, memoryBytes: 8192, memoryPeakBytes: 65_536, pids: 2, oomKills: 1 });
    writeTree(root, { 'job/memory.events': 'oom 2\noom_kill 2\noom_group_kill 0\n' });
    assert.equal(new CgroupJob(spec).stats().oomKills, 2);
  });

  test('v2 before 5.19 (no memory.peak): peak is null; no memory controller: zeros', (t) => {
    const { dir: root, cleanup } = tempDir();
    t.after(cleanup);
    writeTree(root, { 'job/cpu.stat': 'usage_usec 5\n', 'job/memory.current': '1\n', 'job/memory.events': 'oom_kill 0\n', 'job/cgroup.procs': '' });
    const dir = join(root, 'job');
    const base = { key: 'job-1', dirs: [dir], procsFiles: [], track: { version: 2 as const, dir }, freezerV1: null, killMethod: 'cgroup.kill' as const, cpuUsage: { version: 2 as const, dir }, pidsCounter: null };
    assert.equal(new CgroupJob({ ...base, memory: { version: 2, dir } }).stats().memoryPeakBytes, null);
    assert.deepEqual(new CgroupJob({ ...base, memory: null }).stats(), { cpuUsec: 5, memoryBytes: 0, memoryPeakBytes: null, pids: 0, oomKills: 0 });
  });
});

describe('validateLimits', () => {
  test('accepts positive finite values (fractional cpu), rejects everything else naming the field', () => {
    validateLimits({});
    validateLimits({ cpu: 0.25, memory: 1, pids: 1, ioRead: 1, ioWrite: 1 });
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ cpu: 0 }, /limits\.cpu 0/],
      [{ cpu: -1 }, /limits\.cpu -1/],
      [{ cpu: Number.NaN }, /limits\.cpu NaN/],
      [{ memory: Infinity }, /limits\.memory Infinity/],
      [{ memory: 1.5 }, /limits\.memory 1\.5/],
      [{ memory: '1G' }, /limits\.memory "1G"/],
      [{ pids: null }, /limits\.pids null/],
      [{ pids: 5_000_000 }, /PID_MAX_LIMIT/],
      [{ ioWrite: 2 ** 60 }, /limits\.ioWrite/],
      [{ disk: 1 }, /limits "disk": a limit name/],
    ];
    for (const [limits, msg] of bad) {
      assert.throws(() => validateLimits(limits as never), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'INVALID_ARGUMENT');
        assert.match(err.message, msg);
        return true;
      }, JSON.stringify(limits));
    }
  });
});

describe('killAll with cgroup.kill', () => {
  test('writes cgroup.kill again while the cgroup stays populated (a child forked during the first write), then resolves once empty', async (t) => {
    const { dir: root, cleanup } = tempDir();
    t.after(cleanup);
    // No PID in cgroup.procs (nothing real is signalled); "populated 1" is what keeps the job alive.
    writeTree(root, { 'job/cgroup.kill': '', 'job/cgroup.events': 'populated 1\nfrozen 0\n', 'job/cgroup.procs': '' });
    const dir = join(root, 'job');
    const job = new CgroupJob({ key: 'job-1', dirs: [dir], procsFiles: [], track: { version: 2, dir }, freezerV1: null, killMethod: 'cgroup.kill', cpuUsage: null, memory: null, pidsCounter: null });
    const killed = job.killAll(5000);
    const written = async (): Promise<void> => {
      for (let i = 0; i < 500 && readTree(root, 'job/cgroup.kill') !== '1'; i++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(readTree(root, 'job/cgroup.kill'), '1');
    };
    await written();
    writeTree(root, { 'job/cgroup.kill': '' });
    await written(); // the second write
    writeTree(root, { 'job/cgroup.events': 'populated 0\nfrozen 0\n' });
    await killed;
  });

  test('a cgroup that never empties: rejects after the timeout, naming the method', async (t) => {
    const { dir: root, cleanup } = tempDir();
    t.after(cleanup);
    writeTree(root, { 'job/cgroup.kill': '', 'job/cgroup.events': 'populated 1\nfrozen 0\n', 'job/cgroup.procs': '' });
    const dir = join(root, 'job');
    const job = new CgroupJob({ key: 'job-1', dirs: [dir], procsFiles: [], track: { version: 2, dir }, freezerV1: null, killMethod: 'cgroup.kill', cpuUsage: null, memory: null, pidsCounter: null });
    await assert.rejects(job.killAll(300), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'INTERNAL');
      assert.match(err.message, /job-1: 0 process\(es\) survived cgroup\.kill for 300 ms/);
      return true;
    });
  });
});
