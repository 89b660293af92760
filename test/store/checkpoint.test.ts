// WAL checkpoints in a worker thread (src/store/checkpointer.ts): what a user would notice — the WAL
// file on disk stays bounded while a job floods, also when the worker falls behind or cannot run at
// all, every byte is stored, and closing the store leaves no thread, no WAL and no hanging process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { openStore, type CheckpointOptions, type Store } from '../../src/store/index.ts';
import { addJob, tempDir, tempStore, until, within } from './helpers.ts';

const MIB = 1024 * 1024;
const closeFixture = fileURLToPath(new URL('./checkpoint-close.fixture.js', import.meta.url));

/** The size of the store's WAL file now (0 when there is none). */
function walBytes(file: string): number {
  return statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0;
}

/**
 * Writes `total` bytes through one log writer as a flooding job's capture does (fresh 64 KiB pieces,
 * a turn of the event loop every three, pausing while the writer asks for it), sampling the WAL
 * file's size at every turn. Returns the largest size seen.
 */
async function flood(store: Store, file: string, jobId: number, total: number): Promise<number> {
  const w = store.logs.writer(jobId);
  let peak = 0;
  for (let off = 0, n = 0; off < total; off += 64 * 1024, n++) {
    if (!w.append(1, Buffer.alloc(64 * 1024, n & 0xff))) await w.drained();
    if (n % 3 === 2) {
      await new Promise((r) => setImmediate(r));
      peak = Math.max(peak, walBytes(file));
    }
  }
  w.close();
  return Math.max(peak, walBytes(file));
}

/** Every stored byte of the job, checked against what flood() wrote, piece by piece. */
function assertFlooded(store: Store, jobId: number, total: number): void {
  assert.equal(store.jobs.get(jobId)?.logStoredBytes, total);
  let pos = 0;
  for (let afterSeq = 0; ; ) {
    const page = store.logs.read(jobId, { afterSeq, limit: 256, maxBytes: 16 * MIB });
    if (page.length === 0) break;
    for (const c of page) {
      for (let i = 0; i < c.data.length; i += 64 * 1024) assert.equal(c.data[i], ((pos + i) / (64 * 1024)) & 0xff, `byte at ${pos + i}`);
      pos += c.data.length;
      afterSeq = c.seq;
    }
  }
  assert.equal(pos, total);
}

async function workerReady(store: Store): Promise<void> {
  await until(() => store.checkpoints.mode !== 'starting', 'the checkpoint worker to start', 10_000);
  assert.equal(store.checkpoints.mode, 'worker');
}

test('a flood is checkpointed by the worker, and the WAL file on disk stays bounded', async (t) => {
  const options: CheckpointOptions = { requestEveryBytes: 2 * MIB, restartAtBytes: 8 * MIB, limitBytes: 32 * MIB };
  const { store, file } = tempStore(t, { checkpoints: options });
  await workerReady(store);
  const { id } = addJob(store);
  const total = 160 * MIB;
  const peak = await flood(store, file, id, total);
  const s = store.checkpoints;
  t.diagnostic(`WAL peak ${(peak / MIB).toFixed(1)} MiB; ${s.passes} passes, ${s.holds} holds, ${s.forced} forced, writers paused ${s.pauses}×, waited ${s.waits}× ${s.waitedMs.toFixed(0)} ms`);
  assert.ok(s.passes > 0, 'the worker checkpointed');
  // Either the WAL outgrew restartAtBytes and the writers were held for it to start over, or it
  // started over by itself between commits (a fast disk) and never needed to.
  assert.ok(s.holds > 0 || peak <= options.restartAtBytes! + 16 * MIB, `no hold, yet the WAL file reached ${peak} bytes`);
  // The limit, plus what can be committed before the next check (a request's worth and a held queue).
  assert.ok(peak <= options.limitBytes! + options.requestEveryBytes! + 16 * MIB, `the WAL file reached ${peak} bytes`);
  assert.ok(statSync(file).size >= total / 2, 'the output reached the database file while it was written');
  assertFlooded(store, id, total);
  assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
  // Once the flood is over the store goes quiet: the WAL is folded back and emptied, and the passes
  // stop (a hold ended by a report that still shows the WAL full must not start the next one).
  await until(() => walBytes(file) === 0, 'the WAL to be emptied after the flood', 20_000);
  let seen = -1;
  for (const deadline = Date.now() + 20_000; seen !== store.checkpoints.passes; ) {
    assert.ok(Date.now() < deadline, `the passes never stopped after the flood (${store.checkpoints.passes})`);
    seen = store.checkpoints.passes;
    await new Promise((r) => setTimeout(r, 500));
  }
});

test('a flood with a chatty job alongside: its lines commit through the holds, and the WAL still starts over and stays bounded', async (t) => {
  const options: CheckpointOptions = { requestEveryBytes: 2 * MIB, restartAtBytes: 8 * MIB, limitBytes: 32 * MIB };
  const { store, file } = tempStore(t, { checkpoints: options });
  await workerReady(store);
  const flooding = addJob(store).id;
  const chattyJob = addJob(store).id;
  const chatty = store.logs.writer(chattyJob);
  let lines = 0;
  // A line every millisecond or so: some land in every pass the flood is held for.
  const timer = setInterval(() => chatty.append(1, Buffer.from(`line ${String(++lines).padStart(6, '0')}\n`)), 1);
  const total = 160 * MIB;
  let peak: number;
  try {
    peak = await flood(store, file, flooding, total);
  } finally {
    clearInterval(timer);
    chatty.close();
  }
  const s = store.checkpoints;
  t.diagnostic(`WAL peak ${(peak / MIB).toFixed(1)} MiB; ${s.passes} passes, ${s.holds} holds (${s.repeats} extra passes for ${s.passedHolds} lines through them), ${s.forced} forced; ${lines} lines`);
  // Lines that went through a hold left frames the pass had not copied: the hold must have copied
  // them too (an extra pass), or the WAL could never start over while the job is chatty.
  if (s.passedHolds > 0) assert.ok(s.repeats > 0, 'lines went through holds, yet no hold ran the extra pass for them');
  assert.ok(peak <= options.limitBytes! + options.requestEveryBytes! + 16 * MIB, `the WAL file reached ${peak} bytes`);
  assertFlooded(store, flooding, total);
  const text = Buffer.concat(store.logs.read(chattyJob, { afterSeq: 0, limit: 10_000, maxBytes: 64 * MIB }).map((c) => c.data)).toString();
  assert.equal(text, Array.from({ length: lines }, (_, i) => `line ${String(i + 1).padStart(6, '0')}\n`).join(''), 'every line stored, in order');
});

test('idle: once the WAL is copied and truncated the worker stops its passes; the next write wakes it', async (t) => {
  // Short intervals so that a timer-driven worker would run dozens of passes in the quiet second below.
  const { store, file } = tempStore(t, { checkpoints: { activeIntervalMs: 20, idleIntervalMs: 20 } });
  await workerReady(store);
  addJob(store);
  await until(() => walBytes(file) === 0 && store.checkpoints.passes > 0, 'the WAL to be truncated after the write', 10_000);
  // Settled: let a pass already scheduled run, then count.
  await new Promise((r) => setTimeout(r, 100));
  const asleep = store.checkpoints.passes;
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(store.checkpoints.passes, asleep, 'an idle store checkpointed again: a polling loop');
  const { id } = addJob(store);
  await until(() => store.checkpoints.passes > asleep, 'a pass after the next write', 5000);
  await until(() => walBytes(file) === 0, 'the WAL to be truncated again', 10_000);
  assert.equal(store.jobs.get(id)?.id, id);
});

test('when the worker never lets the WAL start over, the store checkpoints itself at the limit', async (t) => {
  // restartAtBytes out of reach: the WAL is never held for, as when the worker falls behind.
  const options: CheckpointOptions = { requestEveryBytes: 2 * MIB, restartAtBytes: Number.MAX_SAFE_INTEGER, limitBytes: 16 * MIB };
  const { store, file } = tempStore(t, { checkpoints: options });
  await workerReady(store);
  const { id } = addJob(store);
  const total = 96 * MIB;
  const peak = await flood(store, file, id, total);
  const s = store.checkpoints;
  t.diagnostic(`WAL peak ${(peak / MIB).toFixed(1)} MiB; ${s.passes} passes, ${s.forced} forced`);
  // Normally the WAL passes the limit and the store copies it itself. A worker that finishes a pass
  // between two commits lets the WAL start over on its own; then it never reaches the limit, which is
  // what this is about. (This test failed once in ten whole-suite runs on a loaded machine, message
  // not kept; this is the one timing-dependent assertion it had.)
  assert.ok(s.forced > 0 || peak <= options.limitBytes!, `the WAL file reached ${peak} bytes and the store never checkpointed itself`);
  assert.equal(s.holds, 0);
  assert.ok(peak <= options.limitBytes! + options.requestEveryBytes! + 16 * MIB, `the WAL file reached ${peak} bytes`);
  assertFlooded(store, id, total);
});

test('a worker that cannot start: checkpoints go back inside commits, said once, and the WAL stays small', async (t) => {
  const warnings: string[] = [];
  const { store, file } = tempStore(t, { onWarning: (m) => warnings.push(m), checkpoints: { addonFile: join(tempDir(t), 'missing', 'better_sqlite3.node') } });
  await until(() => store.checkpoints.mode !== 'starting', 'the checkpoint worker to fail', 10_000);
  assert.equal(store.checkpoints.mode, 'in-thread');
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0] ?? '', /^WAL checkpoints run on the event loop from now on .*: the checkpoint worker could not start: .*missing/);
  const { id } = addJob(store);
  const total = 48 * MIB;
  const peak = await flood(store, file, id, total);
  // SQLite's own checkpoints every 4 MiB of WAL, inside commits (a commit holds up to 4 MiB more).
  assert.ok(peak <= 16 * MIB, `the WAL file reached ${peak} bytes`);
  assertFlooded(store, id, total);
  assert.equal(warnings.length, 1, 'said once');
});

test('a store opened without the worker checkpoints inside commits and warns about nothing', async (t) => {
  const warnings: string[] = [];
  const { store } = tempStore(t, { onWarning: (m) => warnings.push(m), checkpoints: { worker: false } });
  assert.equal(store.checkpoints.mode, 'in-thread');
  assert.equal(store.db.pragma('wal_autocheckpoint', { simple: true }), 64);
  assert.deepEqual(warnings, []);
});

test('closing mid-flood: the worker thread ends, the WAL is folded back, and a process that only closed the store exits by itself', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'jobctl.db');
  const child = spawn(process.execPath, [closeFixture, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  t.after(() => child.kill('SIGKILL'));
  // No process.exit in the fixture: it ends only if nothing (a worker, a timer) keeps it alive.
  const code = await within(60_000, 'the fixture process to exit by itself', new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c))));
  assert.equal(code, 0, `fixture: ${stderr}`);
  const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { threadsBefore: number; threadsOpen: number; threadsAfter: number; mode: string; modeAfter: string; passes: number };
  t.diagnostic(JSON.stringify(report));
  assert.equal(report.mode, 'worker');
  assert.ok(report.passes > 0, 'the worker was checkpointing when the store closed');
  assert.equal(report.threadsOpen, report.threadsBefore + 1, 'one thread more while the store is open');
  assert.equal(report.threadsAfter, report.threadsBefore, 'and none once it is closed');
  assert.equal(report.modeAfter, 'closed');
  assert.doesNotMatch(stderr, /Warning|Error/, 'no warning and no unhandled error');
  // The store's connection, the last one, took the final checkpoint and removed the WAL.
  assert.equal(existsSync(`${file}-wal`), false, 'no WAL left after close');
  const store = openStore(file);
  try {
    assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
    const row = store.db.prepare('SELECT log_stored_bytes AS n FROM jobs').get() as { n: number };
    assert.equal(row.n, 64 * MIB, 'everything written before close is stored');
  } finally {
    store.close();
  }
});

test('bad checkpoint tuning is refused with a message naming the option, and leaves nothing open', (t) => {
  const file = join(tempDir(t), 'jobctl.db');
  assert.throws(() => openStore(file, { checkpoints: { restartAtBytes: 0 } }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'INVALID_ARGUMENT');
    assert.match(err.message, /checkpoints\.restartAtBytes/);
    return true;
  });
  const store = openStore(file, { checkpoints: { worker: false } });
  store.close();
});
