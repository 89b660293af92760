// The real kernel: job cgroups under this process's own cgroups, real limits read back, real
// processes placed the trampoline's way, killed, OOM-killed and cleaned up. Skipped only when not
// root or no cgroup is writable; on the development machine (hybrid) every test runs.

import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCgroupHost, type CgroupHost, type JobCgroup } from '../../src/cgroup/index.ts';
import { CgroupJob } from '../../src/cgroup/job.ts';
import { decodeDev } from '../../src/cgroup/device.ts';
import { exitOf, forceRemoveCgroups, instanceDirsOnHost, isAlive, killPids, pollUntil, spawnInJob, testInstance } from './helpers.ts';

const MiB = 1024 * 1024;

/** Why the real-kernel tests cannot run here, or null when they can. */
function skipReason(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root: cannot create cgroups';
  let host: CgroupHost | null = null;
  try {
    host = openCgroupHost({ instance: testInstance('probe') });
    if (host.capabilities.layout === 'none' || host.capabilities.killMethod === 'process-group') return `no writable cgroup hierarchy (${host.capabilities.warnings.join('; ')})`;
    return null;
  } catch (err) {
    return `cannot open the cgroup host: ${(err as Error).message}`;
  } finally {
    host?.dispose().catch(() => undefined);
  }
}

const SKIP = skipReason();
if (SKIP) console.log(`# kernel cgroup tests skipped: ${SKIP}`);

/** The daemon's own cgroup path per controller, straight from /proc/self/cgroup. */
function ownPaths(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const [, list, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (list !== undefined && path !== undefined) for (const c of list === '' ? ['unified'] : list.split(',')) out.set(c, path);
  }
  return out;
}

/** Opens a host for one test; after the test every job is killed and removed and the subtree disposed, pass or fail. */
function hostFor(t: TestContext, tag: string): { host: CgroupHost; instance: string; track: (job: JobCgroup) => JobCgroup; seen: Set<number> } {
  const instance = testInstance(tag);
  const host = openCgroupHost({ instance });
  const jobs: JobCgroup[] = [];
  const seen = new Set<number>();
  t.after(async () => {
    // The polite way first (what is under test), then by force, so a failing test leaves nothing.
    for (const job of jobs) {
      await job.killAll(2000).catch(() => undefined);
      await job.remove().catch(() => undefined);
    }
    await host.cleanupLeftovers().catch(() => undefined);
    await host.dispose().catch(() => undefined);
    await forceRemoveCgroups(instanceDirsOnHost(instance));
    killPids([...seen].filter(isAlive));
  });
  return { host, instance, track: (job) => (jobs.push(job), job), seen };
}

/** Creates a job, failing the test if the host returned null. */
function create(host: CgroupHost, key: string, limits: Parameters<CgroupHost['createJob']>[1] = {}, cwd = '/tmp'): JobCgroup {
  const job = host.createJob(key, limits, cwd);
  assert.ok(job, 'createJob returned null on a host with cgroups');
  return job;
}

/** The file of `name` in whichever job dir has it. */
function jobFile(job: JobCgroup, name: string): string {
  const dir = job.dirs.find((d) => existsSync(join(d, name)));
  assert.ok(dir, `no job directory has ${name}: ${job.dirs.join(', ')}`);
  return join(dir, name);
}

const read = (file: string): string => readFileSync(file, 'utf8').trim();

/** The command name of a process ('' when gone). */
function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** True when the job holds exactly n processes and all of them exec'd sleep (placement finished). */
function sleeping(job: JobCgroup, n: number): boolean {
  return job.pids().filter((p) => comm(p) === 'sleep').length === n;
}

/** The session id of a process (field 6 of /proc/PID/stat). */
function sessionOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[3];
  } catch {
    return undefined;
  }
}

describe('real kernel', { skip: SKIP ?? false }, () => {
  test('capabilities of this host', (t) => {
    const { host } = hostFor(t, 'caps');
    const c = host.capabilities;
    assert.notEqual(c.layout, 'none');
    if (c.layout === 'hybrid') {
      // Measured facts for this machine kind (research/cgroups.md).
      assert.equal(c.killMethod, 'cgroup.kill');
      for (const n of ['cpu', 'memory', 'pids', 'ioRead'] as const) assert.equal(c.limits[n].enforceable, true, `${n}: ${c.limits[n].reason}`);
      assert.equal(c.limits.ioWrite.enforceable, false);
      assert.match(c.limits.ioWrite.reason ?? '', /writeback/);
      assert.match(c.limits.ioWrite.fix ?? '', /cgroup v2/);
      assert.deepEqual(c.usage, { cpu: true, memory: true, pids: true });
      assert.equal(c.oomDetection, true);
    }
  });

  test('limits are written before createJob returns and read back from the kernel; dirs are under own cgroups', (t) => {
    const { host } = hostFor(t, 'limits');
    const caps = host.capabilities;
    const want = { cpu: 0.5, memory: 32 * MiB, pids: 50, ioRead: 5 * MiB };
    const limits = Object.fromEntries(Object.entries(want).filter(([n]) => caps.limits[n as keyof typeof want].enforceable));
    const job = create(host, 'job-1', limits);

    const own = ownPaths();
    for (const dir of job.dirs) {
      const m = /^\/sys\/fs\/cgroup\/([^/]+)(.*)$/.exec(dir);
      assert.ok(m, dir);
      const ownPath = own.get(m[1] === 'unified' ? 'unified' : (m[1] ?? '').split(',')[0] ?? '');
      assert.ok(ownPath !== undefined, `no own path for ${dir}`);
      assert.ok((m[2] ?? '').startsWith(`${ownPath === '/' ? '' : ownPath}/jobctl-test-limits-`), `${dir} is not under own cgroup ${ownPath}`);
      assert.ok(dir.endsWith('/job-1'));
    }
    assert.deepEqual(job.procsFiles, job.dirs.map((d) => join(d, 'cgroup.procs')));

    if (caps.layout === 'hybrid' || caps.layout === 'legacy') {
      assert.equal(read(jobFile(job, 'memory.limit_in_bytes')), String(32 * MiB));
      if (existsSync(jobFile(job, 'memory.limit_in_bytes').replace('memory.limit_in_bytes', 'memory.memsw.limit_in_bytes'))) {
        assert.equal(read(jobFile(job, 'memory.memsw.limit_in_bytes')), String(32 * MiB));
      }
      assert.equal(read(jobFile(job, 'cpu.cfs_period_us')), '100000');
      assert.equal(read(jobFile(job, 'cpu.cfs_quota_us')), '50000');
      assert.equal(read(jobFile(job, 'pids.max')), '50');
      const dev = decodeDev(statSync('/tmp', { bigint: true }).dev);
      if (!existsSync(`/sys/dev/block/${dev.major}:${dev.minor}/partition`)) {
        assert.equal(read(jobFile(job, 'blkio.throttle.read_bps_device')), `${dev.major}:${dev.minor} ${5 * MiB}`);
      }
      // The memory cgroup must be inside the daemon's own (infrastructure-owned) memory cgroup.
      const memOwn = own.get('memory') ?? '/';
      assert.ok(jobFile(job, 'memory.limit_in_bytes').startsWith(`/sys/fs/cgroup/memory${memOwn === '/' ? '' : memOwn}/`));
    } else {
      assert.equal(read(jobFile(job, 'memory.max')), String(32 * MiB));
      assert.equal(read(jobFile(job, 'cpu.max')), '50000 100000');
      assert.equal(read(jobFile(job, 'pids.max')), '50');
    }
  });

  test('a process placed through procsFiles is seen by pids() and stats(); killAll and remove leave nothing', async (t) => {
    const { host, track } = hostFor(t, 'place');
    const job = track(create(host, 'job-2', { memory: 64 * MiB }));
    const child = spawnInJob(job.procsFiles, 'exec sleep 100');
    t.after(() => child.kill('SIGKILL'));
    const pid = child.pid;
    assert.ok(pid);
    // comm turns "sleep" only after the exec, i.e. after the trampoline wrote every procs file.
    await pollUntil(() => comm(pid) === 'sleep', `pid ${pid} to exec sleep`);
    assert.ok(job.pids().includes(pid));
    // The same PID is in every hierarchy.
    for (const f of job.procsFiles) assert.ok(read(f).split('\n').includes(String(pid)), `${pid} missing from ${f}`);
    const s = job.stats();
    assert.ok(s.pids >= 1, `pids ${s.pids}`);
    assert.ok(s.cpuUsec >= 0 && Number.isFinite(s.cpuUsec));
    assert.ok(s.memoryBytes > 0 && s.memoryBytes <= 64 * MiB, `memory ${s.memoryBytes}`);
    assert.ok(s.memoryPeakBytes === null || s.memoryPeakBytes >= s.memoryBytes);
    assert.equal(s.oomKills, 0);

    assert.equal(await job.waitEmpty(50), false, 'waitEmpty must time out while a process runs');
    await job.killAll();
    assert.deepEqual(job.pids(), []);
    assert.equal(isAlive(pid), false);
    assert.equal((await exitOf(child)).signal, 'SIGKILL');
    assert.equal(await job.waitEmpty(1000), true);
    const final = job.stats();
    assert.ok(final.cpuUsec >= s.cpuUsec, 'final figures readable after the job is empty');
    await job.remove();
    for (const d of job.dirs) assert.equal(existsSync(d), false, `${d} still exists`);
    await job.remove(); // ENOENT is fine
  });

  test('a trampoline write that fails stops the command (exit 111)', async (t) => {
    const { host, track } = hostFor(t, 'badplace');
    const job = track(create(host, 'job-3'));
    const child = spawnInJob([...job.procsFiles, join(job.dirs[0] ?? '/nonexistent', 'no-such-dir', 'cgroup.procs')], 'exec sleep 100');
    assert.equal((await exitOf(child)).code, 111);
  });

  test('double-forked setsid grandchildren do not survive killAll', async (t) => {
    const { host, track, seen } = hostFor(t, 'setsid');
    const job = track(create(host, 'job-4'));
    const script = `i=0; while [ $i -lt 20 ]; do ( setsid sh -c 'sleep 1000 & sleep 1000' & ); i=$((i+1)); done; exec sleep 1000`;
    const child = spawnInJob(job.procsFiles, script);
    t.after(() => child.kill('SIGKILL'));
    // Settled: main + 2 sleeps in each of the 20 new sessions (the short-lived subshells may linger).
    await pollUntil(() => job.pids().filter((p) => comm(p) === 'sleep').length === 41, '41 sleeps', 10_000);
    const pids = job.pids();
    pids.forEach((p) => seen.add(p));
    // The test is only meaningful if the grandchildren really left the session and the process tree.
    const sessions = new Set(pids.map(sessionOf));
    assert.ok(sessions.size >= 21, `expected >= 21 sessions, saw ${sessions.size}`);

    const n = job.signal('SIGCONT');
    assert.ok(n >= 41 && n <= pids.length, `signal reached ${n} of ${pids.length}`);
    await job.killAll(5000);
    const survivors = pids.filter(isAlive);
    assert.deepEqual(survivors, []);
    assert.deepEqual(job.pids(), []);
    await job.remove();
    for (const d of job.dirs) assert.equal(existsSync(d), false);
  });

  test('fork storm under pids.max=50: the limit holds and killAll leaves 0', async (t) => {
    const { host, track, seen } = hostFor(t, 'storm');
    if (!host.capabilities.limits.pids.enforceable) return t.skip(`pids not enforceable: ${host.capabilities.limits.pids.reason}`);
    const job = track(create(host, 'job-5', { pids: 50 }));
    // bash retries a failed fork (EAGAIN) instead of giving up, so the storm keeps pushing at the limit.
    const shell = existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
    const child = spawnInJob(job.procsFiles, `exec ${shell} -c 'for i in 1 2 3 4 5 6 7 8; do (while :; do sleep 1000 & done) & done; wait' 2>/dev/null`);
    t.after(() => child.kill('SIGKILL'));
    await pollUntil(() => job.stats().pids >= 45, 'the storm to reach the limit', 10_000);
    const pidsEvents = readFileSync(jobFile(job, 'pids.events'), 'utf8');
    await pollUntil(() => /max [1-9]/.test(readFileSync(jobFile(job, 'pids.events'), 'utf8')), `forks refused by pids.max (pids.events: ${pidsEvents.trim()})`);
    assert.ok(job.stats().pids <= 50, `pids.current ${job.stats().pids} above pids.max`);
    job.pids().forEach((p) => seen.add(p));
    await job.killAll(5000);
    assert.deepEqual(job.pids(), []);
    // (pids.current is not asserted to be 0: the pids controller uncharges a task when it is reaped,
    // and PID 1 here reaps the orphaned zombies only now and then.)
    assert.deepEqual([...seen].filter(isAlive), []);
  });

  test('OOM: a 32 MiB job that buffers 200 MiB is OOM-killed and counted, even if the main process exits 0', async (t) => {
    const { host, track } = hostFor(t, 'oom');
    if (!host.capabilities.oomDetection) return t.skip('no OOM counter on this host');
    const job = track(create(host, 'job-6', { memory: 32 * MiB }));
    // tail keeps everything after the last newline; /dev/zero has none, so it grows until killed.
    const child = spawnInJob(job.procsFiles, 'head -c 200M /dev/zero | tail > /dev/null; exit 0');
    const exit = await exitOf(child);
    assert.equal(exit.code, 0, 'the main process itself survived');
    assert.equal(await job.waitEmpty(5000), true);
    const s = job.stats();
    assert.ok(s.oomKills > 0, `oomKills ${s.oomKills}`);
    assert.ok(s.memoryPeakBytes === null || s.memoryPeakBytes <= 32 * MiB, `peak ${s.memoryPeakBytes}`);
  });

  test('signal() reaches every process and returns the count', async (t) => {
    const { host, track } = hostFor(t, 'signal');
    const job = track(create(host, 'job-7'));
    const child = spawnInJob(job.procsFiles, 'sleep 1000 & sleep 1000 & wait');
    t.after(() => child.kill('SIGKILL'));
    await pollUntil(() => sleeping(job, 2) && job.pids().length === 3, 'sh and 2 sleeps');
    assert.equal(job.signal('SIGTERM'), 3);
    assert.equal(await job.waitEmpty(5000), true);
    assert.equal(job.signal('SIGTERM'), 0);
  });

  test('remove() refuses a populated job with EBUSY and names the processes', async (t) => {
    const { host, track } = hostFor(t, 'busy');
    const job = track(create(host, 'job-8'));
    const child = spawnInJob(job.procsFiles, 'exec sleep 1000');
    t.after(() => child.kill('SIGKILL'));
    await pollUntil(() => sleeping(job, 1), 'the process');
    await assert.rejects(job.remove(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'INTERNAL');
      assert.match(err.message, /EBUSY/);
      assert.match(err.message, new RegExp(String(child.pid)));
      return true;
    });
  });

  test('cleanupLeftovers kills and removes this instance\'s jobs, and only them', async (t) => {
    const instance = testInstance('left');
    const first = openCgroupHost({ instance });
    const other = hostFor(t, 'other');
    const mine = create(first, 'job-9');
    const theirs = other.track(create(other.host, 'job-9'));
    const a = spawnInJob(mine.procsFiles, 'sleep 1000 & exec sleep 1000');
    const b = spawnInJob(theirs.procsFiles, 'exec sleep 1000');
    const restarted = openCgroupHost({ instance }); // the same instance after a daemon restart
    t.after(async () => {
      a.kill('SIGKILL');
      b.kill('SIGKILL');
      await forceRemoveCgroups(instanceDirsOnHost(instance));
    });
    await pollUntil(() => sleeping(mine, 2) && sleeping(theirs, 1), 'both jobs running');
    const minePids = mine.pids();

    assert.deepEqual(await restarted.cleanupLeftovers(), ['job-9']);
    assert.deepEqual(minePids.filter(isAlive), []);
    for (const d of mine.dirs) assert.equal(existsSync(d), false, `${d} left behind`);
    assert.deepEqual(theirs.pids(), [b.pid], 'the other instance\'s job still runs');
    for (const d of theirs.dirs) assert.equal(existsSync(d), true);
    assert.deepEqual(await restarted.cleanupLeftovers(), []);
    await restarted.dispose();
    for (const d of mine.dirs) assert.equal(existsSync(join(d, '..')), false, 'instance subtree removed by dispose');
  });

  test('createJob replaces an empty stale dir (fresh counters) and refuses a populated one', async (t) => {
    const { host, track } = hostFor(t, 'stale');
    const job = track(create(host, 'job-10'));
    const child = spawnInJob(job.procsFiles, 'exec sleep 1000');
    t.after(() => child.kill('SIGKILL'));
    await pollUntil(() => sleeping(job, 1), 'the process');
    assert.throws(() => host.createJob('job-10', {}, '/tmp'), { code: 'CONFLICT' });
    await job.killAll();
    const again = track(create(host, 'job-10'));
    assert.deepEqual(again.dirs, job.dirs);
  });

  test('a limit write the kernel refuses fails createJob, names file, value and errno, and leaves no directory', (t) => {
    const { host, instance } = hostFor(t, 'einval');
    const own = ownPaths();
    const cpuOwn = own.get('cpu');
    const instCpu = `/sys/fs/cgroup/cpu${cpuOwn === '/' ? '' : cpuOwn}/${instance}`;
    if (!host.capabilities.limits.cpu.via?.includes(instCpu)) return t.skip(`cpu is not limited through ${instCpu} here`);
    // v1 refuses a child CFS quota above its parent's (EINVAL): cap our own instance dir at half a core.
    writeFileSync(join(instCpu, 'cpu.cfs_quota_us'), '50000');
    assert.throws(() => host.createJob('job-11', { cpu: 1, memory: 32 * MiB }, '/tmp'), (err: Error & { code?: string; details?: Record<string, unknown> }) => {
      assert.equal(err.code, 'LIMIT_UNENFORCEABLE');
      assert.equal(err.details?.limit, 'cpu');
      assert.match(err.message, new RegExp(`failed to write "100000" to ${instCpu}/job-11/cpu\\.cfs_quota_us: EINVAL`));
      return true;
    });
    for (const [c, path] of own) {
      const mount = c === 'unified' ? 'unified' : c;
      const dir = `/sys/fs/cgroup/${mount}${path === '/' ? '' : path}/${instance}/job-11`;
      assert.equal(existsSync(dir), false, `${dir} left behind`);
    }
  });

  test('io limits on tmpfs are refused, naming cwd and the filesystem', (t) => {
    const { host } = hostFor(t, 'tmpfs');
    if (!host.capabilities.limits.ioRead.enforceable) return t.skip('ioRead not enforceable here');
    const shm = '/dev/shm';
    if (!existsSync(shm) || decodeDev(statSync(shm, { bigint: true }).dev).major !== 0) return t.skip('/dev/shm is not an anonymous-device filesystem here');
    assert.throws(() => host.checkLimits({ ioRead: MiB }, shm), (err: Error & { code?: string; details?: Record<string, unknown> }) => {
      assert.equal(err.code, 'LIMIT_UNENFORCEABLE');
      assert.equal(err.details?.limit, 'ioRead');
      assert.match(err.message, /"\/dev\/shm"/);
      assert.match(err.message, /tmpfs/);
      assert.match(err.message, /Fix:/);
      return true;
    });
    host.checkLimits({ ioRead: MiB }, '/tmp');
  });
});

describe('real kernel: each kill method', { skip: SKIP ?? false }, () => {
  /** Makes a bare cgroup dir under the own cgroup of a hierarchy, removed after the test. */
  function bareDir(t: TestContext, mount: string, ownPath: string | undefined, tag: string): string | null {
    if (ownPath === undefined || !existsSync(`/sys/fs/cgroup/${mount}`)) return null;
    const parent = `/sys/fs/cgroup/${mount}${ownPath === '/' ? '' : ownPath}/${testInstance(tag)}`;
    mkdirSync(parent);
    const dir = join(parent, 'job');
    mkdirSync(dir);
    t.after(() => forceRemoveCgroups([parent]));
    return dir;
  }

  const storm = `i=0; while [ $i -lt 20 ]; do ( setsid sh -c 'sleep 1000 & sleep 1000' & ); i=$((i+1)); done; exec sleep 1000`;

  for (const method of ['v1 freezer', 'v2 cgroup.freeze', 'kill-loop'] as const) {
    test(`${method}: no survivor of 20 setsid'd double forks`, async (t) => {
      const own = ownPaths();
      const dir = method === 'v1 freezer' ? bareDir(t, 'freezer', own.get('freezer'), 'frz')
        : method === 'v2 cgroup.freeze' ? bareDir(t, 'unified', own.get('unified'), 'frz2')
        : bareDir(t, 'pids', own.get('pids'), 'loop');
      if (!dir) return t.skip(`no ${method} hierarchy here`);
      if (method === 'v2 cgroup.freeze' && !existsSync(join(dir, 'cgroup.freeze'))) return t.skip('no cgroup.freeze (kernel < 5.2)');
      const job = new CgroupJob({
        key: 'job',
        dirs: [dir],
        procsFiles: [join(dir, 'cgroup.procs')],
        track: { version: method === 'v2 cgroup.freeze' ? 2 : 1, dir },
        freezerV1: method === 'v1 freezer' ? dir : null,
        killMethod: method === 'kill-loop' ? 'kill-loop' : 'freezer',
        cpuUsage: null,
        memory: null,
        pidsCounter: null,
      });
      const child = spawnInJob(job.procsFiles, storm);
      t.after(() => child.kill('SIGKILL'));
      await pollUntil(() => job.pids().filter((p) => comm(p) === 'sleep').length === 41, '41 sleeps', 10_000);
      const pids = job.pids();
      assert.ok(new Set(pids.map(sessionOf)).size >= 21, 'grandchildren in their own sessions');
      await job.killAll(5000);
      assert.deepEqual(pids.filter(isAlive), []);
      assert.deepEqual(job.pids(), []);
      if (method === 'v1 freezer') assert.equal(read(join(dir, 'freezer.state')), 'THAWED', 'left thawed');
      if (method === 'v2 cgroup.freeze') assert.equal(read(join(dir, 'cgroup.freeze')), '0', 'left thawed');
    });
  }
});
