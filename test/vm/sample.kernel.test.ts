// Guest-side check of the VM harness itself (scripts/vm): the cgroup layout is the one asked for,
// /mnt/disk is a real block device, and a memory limit really OOM-kills. Only meaningful inside
// the guest (JOBCTL_VM is set there); on the host it skips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pollUntil } from '../support/poll.ts';

const mode = process.env.JOBCTL_VM;
const skip = mode ? false : 'only inside the test VM (scripts/vm/run.mjs sets JOBCTL_VM)';
const cg = '/sys/fs/cgroup';

test('the cgroup layout matches the mode', { skip }, () => {
  if (mode === 'v2') {
    const controllers = readFileSync(join(cg, 'cgroup.controllers'), 'utf8').trim().split(' ');
    for (const c of ['memory', 'cpu', 'pids', 'io']) assert.ok(controllers.includes(c), `${c} missing from ${controllers.join(' ')}`);
    assert.equal(existsSync(join(cg, 'memory')), false, 'no v1 hierarchy in v2 mode');
  } else {
    assert.equal(mode, 'hybrid');
    assert.ok(existsSync(join(cg, 'memory/memory.limit_in_bytes')));
    assert.ok(existsSync(join(cg, 'freezer/freezer.state')) || existsSync(join(cg, 'freezer/cgroup.procs')));
    assert.ok(existsSync(join(cg, 'unified/cgroup.procs')));
  }
});

test('JOBCTL_VM_DISK is on a block device', { skip }, () => {
  const disk = process.env.JOBCTL_VM_DISK;
  assert.ok(disk, 'JOBCTL_VM_DISK is set');
  // st_dev's major (glibc encoding); 0 is the anonymous-device major of tmpfs, 9p, cgroupfs.
  const major = (statSync(disk).dev >>> 8) & 0xfff;
  assert.notEqual(major, 0, `${disk} has device major 0 (not block-backed)`);
  const tmpMajor = (statSync(process.env.TMPDIR ?? '/tmp').dev >>> 8) & 0xfff;
  assert.equal(tmpMajor, 0, 'control: the tmpfs /tmp has major 0');
});

test('a 32M memory limit OOM-kills a shell that allocates more', { skip }, async () => {
  const name = `vm-sample-${process.pid}`;
  let dir: string;
  let readOomKills: () => number;
  if (mode === 'v2') {
    // The root cgroup may hold processes and still delegate controllers (the no-internal-process
    // rule exempts it), so enabling memory here is enough.
    writeFileSync(join(cg, 'cgroup.subtree_control'), '+memory');
    dir = join(cg, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'memory.max'), String(32 << 20));
    if (existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), '0');
    readOomKills = () => Number(/^oom_kill (\d+)$/m.exec(readFileSync(join(dir, 'memory.events'), 'utf8'))?.[1] ?? 0);
  } else {
    dir = join(cg, 'memory', name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'memory.limit_in_bytes'), String(32 << 20));
    readOomKills = () => Number(/^oom_kill (\d+)$/m.exec(readFileSync(join(dir, 'memory.oom_control'), 'utf8'))?.[1] ?? 0);
  }
  try {
    // The shell moves itself in first, so the allocation (a 100 MB command substitution held in
    // the shell's own memory) is charged to the limited cgroup.
    const r = spawnSync('/bin/sh', ['-c', `echo $$ > ${dir}/cgroup.procs && x=$(head -c 100000000 /dev/zero | tr '\\0' a) && echo survived`], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(r.stdout.includes('survived'), false, 'the shell got past its allocation');
    assert.equal(r.signal, 'SIGKILL', `the shell was OOM-killed (status ${r.status}, signal ${r.signal}, stderr ${r.stderr})`);
    assert.ok(readOomKills() > 0, 'oom_kill counter > 0');
  } finally {
    await pollUntil('the cgroup to empty', () => readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim() === '', 10_000);
    rmdirSync(dir);
  }
});
