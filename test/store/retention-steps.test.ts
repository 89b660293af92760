// Retention gives freed pages back in bounded steps: the event loop runs between them, the
// checkpoint worker keeps the WAL small meanwhile, the file still shrinks in the end, and a live
// writer and a follower going on during the pass are unharmed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { test } from 'node:test';
import { applyRetention, type JobResult, type Store } from '../../src/store/index.ts';
import { VACUUM_STEP_PAGES } from '../../src/store/vacuum-steps.ts';
import { addJob, chunkBytes, collect, tempStore } from './helpers.ts';

const MIB = 1024 * 1024;
const ended: JobResult = { state: 'exited', exitCode: 0, signal: null, oomKilled: false, reason: null, endedAt: 1_700_000_000_000, cpuUsec: 1, memoryPeakBytes: 1 };

function output(store: Store, id: number): Buffer {
  return Buffer.concat(store.logs.read(id, { limit: 10_000, maxBytes: Number.MAX_SAFE_INTEGER }).map((c) => c.data));
}

test('retention vacuums in bounded steps across turns, the WAL stays bounded, the file shrinks; a writer and a follower go on', async (t) => {
  const limitBytes = 32 * MIB;
  const { store, file } = tempStore(t, { checkpoints: { requestEveryBytes: MIB, restartAtBytes: 8 * MIB, limitBytes } });
  // 6 jobs of 24 MiB written interleaved, so the deleted jobs' pages sit between the kept ones'.
  const ids = Array.from({ length: 6 }, () => addJob(store).id);
  const writers = ids.map((id) => store.logs.writer(id));
  const written = new Map<number, Buffer[]>(ids.map((id) => [id, []]));
  const block = randomBytes(256 * 1024);
  for (let round = 0; round < 96; round++) {
    ids.forEach((id, i) => {
      const data = Buffer.from(block.subarray(0, 256 * 1024 - round - i));
      writers[i]?.append(1, data);
      written.get(id)?.push(data);
    });
    for (const w of writers) w.flush();
  }
  // Retention keeps the newest finished job (the highest id); the live one is still running.
  const [first, live, ...rest] = ids as [number, number, ...number[]];
  const kept = rest.pop() as number;
  const doomed = [first, ...rest];
  const liveWriter = writers[1];
  assert.ok(liveWriter);
  writers.forEach((w, i) => i !== 1 && w.close());
  for (const id of [kept, ...doomed]) store.jobs.markFinished(id, ended);
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  const before = statSync(file).size;

  // Meanwhile: the live job keeps writing, a follower replays the kept job, a timer counts turns
  // and samples the WAL file.
  let turns = 0;
  let maxWal = 0;
  let added = 0;
  const ticker = setInterval(() => {
    turns++;
    maxWal = Math.max(maxWal, statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0);
    const data = randomBytes(64 * 1024);
    liveWriter.append(2, data);
    added += data.length;
    written.get(live)?.push(data);
  }, 1);
  const follower = collect(store.logs.follow(kept));
  const started = performance.now();
  const result = await applyRetention(store, { maxFinishedJobs: 1 });
  const took = performance.now() - started;
  clearInterval(ticker);
  liveWriter.close();
  const followed = await follower;
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  const after = statSync(file).size;
  const deleted = doomed.reduce((n, id) => n + Buffer.concat(written.get(id) ?? []).length, 0);
  t.diagnostic(
    `deleted ${(deleted / MIB).toFixed(0)} MiB: file ${(before / MIB).toFixed(0)} → ${(after / MIB).toFixed(0)} MiB in ${result.vacuumSteps} steps over ` +
      `${took.toFixed(0)} ms (${turns} timer turns), longest step ${result.longestStepMs?.toFixed(2)} ms, largest WAL ${(maxWal / MIB).toFixed(1)} MiB; ` +
      `checkpoints: ${store.checkpoints.mode}, ${store.checkpoints.passes} passes, ${store.checkpoints.holds} holds, ${store.checkpoints.forced} forced`,
  );

  assert.equal(result.jobsDeleted, doomed.length);
  // Bounded steps: each returns at most VACUUM_STEP_PAGES (1 MiB), so the freed space took many.
  assert.ok(result.vacuumSteps >= Math.floor(result.bytesFreed / (VACUUM_STEP_PAGES * 65536)), `${result.vacuumSteps} steps for ${result.bytesFreed} bytes`);
  // A step is ≈ 1 ms; the bound is generous for a loaded host (one unstepped vacuum took 0.54 s for 1.2 GB).
  assert.ok(result.longestStepMs < 100, `longest step ${result.longestStepMs} ms`);
  assert.ok(turns >= 20, `timers ran ${turns} times during the pass`);
  assert.ok(maxWal <= limitBytes + 8 * MIB, `the WAL reached ${maxWal} bytes`);
  // What the live job wrote meanwhile took some of the freed space back.
  assert.ok(before - after + added >= deleted * 0.9, `the file shrank by ${before - after} of ${deleted} bytes deleted (${added} written meanwhile)`);
  assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
  for (const id of [kept, live]) assert.ok(output(store, id).equals(Buffer.concat(written.get(id) ?? [])), `job ${id} output intact`);
  assert.ok(chunkBytes(followed).equals(Buffer.concat(written.get(kept) ?? [])), 'the follower read all of the kept job');
  for (const id of doomed) assert.equal(store.jobs.get(id), undefined);
});
