// Disk full: the whole JOBCTL_HOME (database, WAL, PKI) on a 24 MiB tmpfs that a flooding job fills.
// The daemon must keep serving (ps, status, info, new connections), count the dropped bytes with the
// reason "disk full", let `logs` show the gap marker, survive jobs that end and start while the disk
// is full, and store output again once space returns. Needs root (mount); skipped otherwise.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { JobInfo } from '../../src/rpc/model.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { isAlive, pollUntil } from '../support/poll.ts';
import { IS_ROOT, adminIdentity, assertExit, connect, integrityCheck, jsonOf, spec, stopDaemon } from './helpers.ts';

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Writes a file of zeros into dir until only `leave` bytes are free; returns its path. */
function fill(dir: string, leave: number): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(64 * 1024);
  try {
    while (freeBytes(dir) - block.length > leave) writeSync(fd, block);
  } finally {
    closeSync(fd);
  }
  return path;
}

test('a full disk under JOBCTL_HOME: the daemon keeps serving, counts and explains the drop, and resumes', { timeout: 120_000 }, async (t) => {
  if (!IS_ROOT) return t.skip('needs root to mount a size-limited tmpfs');
  const dir = mkdtempSync(join(tmpdir(), 'jobctl-diskfull-'));
  const mnt = join(dir, 'mnt');
  const work = join(dir, 'work');
  mkdirSync(mnt);
  mkdirSync(work);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0700', 'tmpfs', mnt]);
  let d: TestDaemon | null = null;
  // One hook, in this order: the daemon, the mount, the directory.
  t.after(async () => {
    try {
      if (d) await stopDaemon(d, 15_000);
    } finally {
      execFileSync('umount', ['-l', mnt]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
  const home = join(mnt, 'home');
  d = await startTestDaemon({ home });
  const admin = await connect(t, d.endpoint, adminIdentity(d));

  // Jobs that run across the full period: one ends while the disk is full, one is the flood.
  const ender = await admin.call('job.start', spec(['sh', '-c', 'echo ender-start; while [ ! -e end ]; do sleep 0.02; done; echo ender-done'], { cwd: work }));
  writeFileSync(join(work, 'flood'), '');
  const flood = await admin.call(
    'job.start',
    spec(['sh', '-c', 'while [ -e flood ]; do head -c 262144 /dev/zero; done; echo flood-paused >&2; while [ ! -e go ]; do sleep 0.02; done; echo stored-again; exec sleep 600'], { cwd: work }),
  );
  const filler = fill(mnt, 3 * 1024 * 1024);

  const t0 = Date.now();
  const full = await pollUntil(
    'the flood job to have output dropped for a full disk',
    async () => {
      const j = await admin.call('job.get', { id: flood.id });
      return j.log.droppedBytes > 0 ? j : null;
    },
    30_000,
    50,
  );
  const fullAfterMs = Date.now() - t0;
  assert.match(full.log.dropReason ?? '', /disk full/, 'the drop reason says the disk is full');

  // Keep flooding a little longer while the daemon is asked to do everything else.
  const latencies: number[] = [];
  for (let i = 0; i < 20; i++) {
    const s = Date.now();
    await admin.call('session.info', {});
    latencies.push(Date.now() - s);
  }
  const ps = await d.cli(['ps']);
  assertExit(ps, 0, 'ps while the disk is full');
  assert.match(ps.stdout, new RegExp(`^${flood.id}\\s+running`, 'm'));
  const status = await d.cli(['status', String(flood.id)]);
  assertExit(status, 0, 'status while the disk is full');
  assert.match(status.stdout, /^output\s+.* stored, .* dropped \(disk full/m, 'status shows the dropped bytes and why');
  const outputLine = /^output.*$/m.exec(status.stdout)?.[0] ?? '';
  assertExit(await d.cli(['info']), 0, 'info while the disk is full');
  // A job that ends now: its final state cannot be written yet — the daemon must not die of it.
  writeFileSync(join(work, 'end'), '');
  // A job started now: refused with a coded error or started; never a crash.
  const during = await d.cli(['run', '--cwd', work, '--', 'sh', '-c', 'echo started-while-full']);
  assert.ok(during.code === 0 || during.code === 1, `run while full exits 0 or 1, got ${during.code}: ${during.stderr}`);
  assert.doesNotMatch(during.stderr, /\n\s+at /, 'no stack trace');
  const duringId = during.code === 0 ? Number(during.stdout.trim()) : null;
  assert.ok(isAlive(d.pid), 'the daemon is alive while the disk is full');

  // Space returns.
  rmSync(join(work, 'flood'));
  rmSync(filler);
  writeFileSync(join(work, 'go'), '');
  const freedAt = Date.now();
  await pollUntil(
    'new output to be stored again',
    async () => (await d!.cli(['logs', String(flood.id)])).stdout.includes('stored-again'),
    30_000,
    100,
  );
  const resumedAfterMs = Date.now() - freedAt;
  const logs = await d.cli(['logs', String(flood.id)]);
  assertExit(logs, 0);
  assert.match(logs.stderr, /\[jobctl\] .* of earlier output was dropped \(disk full/, '`logs` shows the gap marker');
  const logsJson = await d.cli(['logs', '--json', String(flood.id)]);
  assert.match(logsJson.stdout, /"gap":\{"droppedBytes":\d+,"reason":"disk full/, '`logs --json` shows the gap');

  // The job that ended while the disk was full is recorded as ended once it can be.
  const ended = await pollUntil(
    'the job that ended during the full period to be final',
    async () => {
      const j = await admin.call('job.get', { id: ender.id });
      return j.state !== 'running' ? j : null;
    },
    15_000,
    50,
  );
  assert.equal(ended.state, 'exited', `ender: ${JSON.stringify(ended)}`);
  if (duringId !== null) {
    const j = await admin.call('job.wait', { id: duringId });
    assert.notEqual(j.state, 'running');
  }

  const stopped = await admin.call('job.stop', { id: flood.id, graceMs: 0 });
  assert.equal(stopped.state, 'stopped');
  const final = jsonOf<JobInfo>(await d.cli(['status', '--json', String(flood.id)]));
  assert.ok(final.log.droppedBytes >= full.log.droppedBytes, 'dropped bytes stay counted');
  assert.ok(final.log.storedBytes > 0);
  assert.ok(isAlive(d.pid), 'the daemon survived');
  assert.equal(await stopDaemon(d), 0, 'and stops cleanly');
  assert.equal(integrityCheck(home), 'ok');
  t.diagnostic(
    `fullAfterMs=${fullAfterMs} dropped=${final.log.droppedBytes} stored=${final.log.storedBytes} reason="${final.log.dropReason}" ` +
      `statusWhileFull="${outputLine}" sessionInfoMs(max)=${Math.max(...latencies)} resumedAfterMs=${resumedAfterMs} runWhileFull=${during.code === 0 ? 'started' : `refused: ${during.stderr.trim()}`}`,
  );
});

test('on a full disk, job writes fail loudly: no row is reported that was never stored', { timeout: 60_000 }, async (t) => {
  if (!IS_ROOT) return t.skip('needs root to mount a size-limited tmpfs');
  const dir = mkdtempSync(join(tmpdir(), 'jobctl-diskfull-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', dir]);
  let store: Store | null = null;
  t.after(() => {
    try {
      store?.close();
    } finally {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
  store = openStore(join(dir, 'jobctl.db'));
  const job = { owner: 'alice', name: null, argv: ['true'], cwd: '/', env: { PATH: '/bin' }, limits: {}, createdAt: Date.now() };
  const running = store.jobs.insert(job);
  // Fill what is left, then keep asking: every insert and finish either throws or is really stored.
  fill(dir, 0);
  const phantoms: string[] = [];
  let refused = 0;
  for (let i = 0; i < 20; i++) {
    try {
      const row = store.jobs.insert({ ...job, argv: ['x'.repeat(4096 * (i + 1))] });
      if (store.jobs.get(row.id) === undefined) phantoms.push(`insert returned job ${row.id}, which is not stored`);
    } catch (err) {
      assert.match(String((err as { code?: string }).code), /^SQLITE_(FULL|IOERR)/);
      refused++;
    }
  }
  try {
    const row = store.jobs.markFinished(running.id, { state: 'exited', exitCode: 0, signal: null, oomKilled: false, reason: null, endedAt: Date.now(), cpuUsec: null, memoryPeakBytes: null });
    if (store.jobs.get(running.id)?.state !== row.state) phantoms.push(`markFinished returned ${row.state}, the row says ${store.jobs.get(running.id)?.state}`);
  } catch (err) {
    assert.match(String((err as { code?: string }).code), /^SQLITE_(FULL|IOERR)/);
    refused++;
  }
  assert.deepEqual(phantoms, [], 'better-sqlite3 get() on INSERT/UPDATE … RETURNING hides a failed commit: all() must be used');
  assert.ok(refused > 0, 'the full disk was felt');
  t.diagnostic(`refused=${refused}`);
});
