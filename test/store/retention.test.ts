import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { test } from 'node:test';
import { isJobctlError } from '../../src/rpc/errors.ts';
import { applyRetention, type JobResult, type LogWriter, type Store } from '../../src/store/index.ts';
import { addJob, tempStore } from './helpers.ts';

const ended = (endedAt: number): JobResult => ({ state: 'exited', exitCode: 0, signal: null, oomKilled: false, reason: null, endedAt, cpuUsec: 1, memoryPeakBytes: 1 });

function fileSize(store: Store, file: string): number {
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  return statSync(file).size;
}

function output(store: Store, id: number): Buffer {
  return Buffer.concat(store.logs.read(id, { limit: 10_000, maxBytes: Number.MAX_SAFE_INTEGER }).map((c) => c.data));
}

test('retention deletes old finished jobs with their output and the file shrinks', async (t) => {
  const { store, file } = tempStore(t);
  const ids = Array.from({ length: 6 }, () => addJob(store).id);
  const writers = new Map<number, LogWriter>(ids.map((id) => [id, store.logs.writer(id)]));
  const written = new Map<number, Buffer[]>(ids.map((id) => [id, []]));
  // Interleaved, as concurrent jobs write: the pages of deleted jobs sit between those of kept ones,
  // so the vacuum has to move pages, not just cut the tail.
  for (let round = 0; round < 48; round++) {
    for (const id of ids) {
      const data = randomBytes(64 * 1024);
      writers.get(id)?.append(round % 2 === 0 ? 1 : 2, data);
      written.get(id)?.push(data);
    }
    for (const w of writers.values()) w.flush();
  }
  for (const w of writers.values()) w.close();
  const [oldest, , , , newestFinished, running] = ids as [number, number, number, number, number, number];
  ids.slice(0, 5).forEach((id, i) => store.jobs.markFinished(id, ended(1_700_000_000_000 + i * 60_000)));
  void running; // stays running

  const before = fileSize(store, file);
  const perJob = 48 * 64 * 1024;
  assert.ok(before > 6 * perJob, `file ${before} bytes`);

  const result = await applyRetention(store, { maxFinishedJobs: 1 });
  assert.equal(result.jobsDeleted, 4);
  const after = fileSize(store, file);
  t.diagnostic(`file ${before} → ${after} bytes; bytesFreed ${result.bytesFreed}; 4 jobs of ${perJob} bytes of output deleted`);
  assert.ok(before - after >= 4 * perJob * 0.95, `the file shrank by ${before - after} bytes`);
  assert.ok(result.bytesFreed >= 4 * perJob * 0.95, `bytesFreed ${result.bytesFreed}`);
  assert.ok(Math.abs(result.bytesFreed - (before - after)) <= 64 * 1024, 'bytesFreed is what the file lost');
  assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');

  assert.deepEqual(store.jobs.list().map((r) => r.id), [running, newestFinished]);
  assert.equal(store.jobs.get(oldest), undefined);
  assert.deepEqual(store.logs.read(oldest), [], 'output went with the job');
  for (const id of [running, newestFinished]) assert.ok(output(store, id).equals(Buffer.concat(written.get(id) ?? [])), `job ${id} output intact`);
  assert.equal(store.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM log_chunks WHERE job_id NOT IN (SELECT id FROM jobs)').get()?.n, 0);

  // Nothing more to do: nothing deleted, nothing freed.
  const again = await applyRetention(store, { maxFinishedJobs: 1 });
  assert.deepEqual([again.jobsDeleted, again.bytesFreed, again.vacuumSteps], [0, 0, 0]);
});

test('retention by age uses the end time, never touches running jobs or output still being written', async (t) => {
  const { store } = tempStore(t);
  const now = 1_800_000_000_000;
  const day = 86_400_000;
  const old = addJob(store).id;
  store.jobs.markFinished(old, ended(now - 10 * day));
  const recent = addJob(store).id;
  store.jobs.markFinished(recent, ended(now - day));
  const stillWriting = addJob(store).id;
  const w = store.logs.writer(stillWriting);
  store.jobs.markFinished(stillWriting, ended(now - 10 * day)); // finished, but its last output is not flushed yet
  const runningOld = addJob(store, { createdAt: now - 100 * day }).id;

  assert.deepEqual((await applyRetention(store, { maxAgeMs: 7 * day, now })).jobsDeleted, 1);
  assert.deepEqual(store.jobs.list().map((r) => r.id).sort(), [recent, stillWriting, runningOld].sort());
  w.close();
  assert.deepEqual((await applyRetention(store, { maxAgeMs: 7 * day, now })).jobsDeleted, 1, 'once closed it goes');
  assert.ok(store.jobs.get(runningOld));

  const bad = (p: object) => assert.rejects(applyRetention(store, p), (e: unknown) => isJobctlError(e) && e.code === 'INVALID_ARGUMENT');
  await bad({ maxAgeMs: -1 });
  await bad({ maxFinishedJobs: 1.5 });
  await bad({ maxAgeMs: Number.NaN });
});
