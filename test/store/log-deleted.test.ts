// A follower whose job's output is deleted under it (retention of finished jobs) must not end as if
// the output were complete: it ends with a coded error that says the log was deleted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJobctlError } from '../../src/rpc/errors.ts';
import { applyRetention, type JobResult, type LogItem, type Store } from '../../src/store/index.ts';
import { addJob, collect, tempStore } from './helpers.ts';

const ended: JobResult = { state: 'exited', exitCode: 0, signal: null, oomKilled: false, reason: null, endedAt: 1_700_000_000_000, cpuUsec: 1, memoryPeakBytes: 1 };

/** A finished job with `chunks` chunks of output. */
function finishedJob(store: Store, chunks: number): number {
  const { id } = addJob(store);
  const w = store.logs.writer(id);
  for (let i = 0; i < chunks; i++) {
    w.append(1, Buffer.from(`line ${i}\n`));
    w.flush();
  }
  w.close();
  store.jobs.markFinished(id, ended);
  return id;
}

/** Reads `n` items, then lets retention delete every finished job, then reads on. */
async function readAcrossRetention(store: Store, it: AsyncIterator<LogItem>, n: number): Promise<unknown> {
  for (let i = 0; i < n; i++) assert.equal((await it.next()).done, false);
  assert.equal((await applyRetention(store, { maxFinishedJobs: 0 })).jobsDeleted, 1);
  try {
    for (;;) if ((await it.next()).done) return 'ended without an error';
  } catch (err) {
    return err;
  }
}

function assertDeletedError(err: unknown, id: number): void {
  assert.ok(isJobctlError(err), `a coded error, got ${String(err)}`);
  assert.equal(err.code, 'NOT_FOUND');
  assert.match(err.message, new RegExp(`^the log of job ${id} was deleted while it was being read: the job was deleted \\(retention`));
}

test('a follower of a job that retention deletes ends with NOT_FOUND "log was deleted", not a clean end', async (t) => {
  const { store } = tempStore(t);
  // 200 chunks: more than one follower page (64), so the deletion lands between pages.
  const id = finishedJob(store, 200);
  assertDeletedError(await readAcrossRetention(store, store.logs.follow(id), 3), id);
});

test('a replay (live: false) of a job that retention deletes ends with the same error', async (t) => {
  const { store } = tempStore(t);
  const id = finishedJob(store, 200);
  assertDeletedError(await readAcrossRetention(store, store.logs.follow(id, { live: false }), 3), id);
});

test('a follower that had read nothing yet also learns of the deletion; an unknown job still just ends', async (t) => {
  const { store } = tempStore(t);
  const id = finishedJob(store, 5);
  const it = store.logs.follow(id);
  assert.equal((await applyRetention(store, { maxFinishedJobs: 0 })).jobsDeleted, 1);
  await assert.rejects(it.next(), (err: unknown) => (assertDeletedError(err, id), true));
  assert.deepEqual(await collect(store.logs.follow(31337)), []);
  assert.deepEqual(await collect(store.logs.follow(31337, { live: false })), []);
});

test('a follower that reads to the end before retention runs ends cleanly', async (t) => {
  const { store } = tempStore(t);
  const id = finishedJob(store, 100);
  const items = await collect(store.logs.follow(id));
  assert.equal(items.length, 100);
  assert.equal((await applyRetention(store, { maxFinishedJobs: 0 })).jobsDeleted, 1);
});

test('deleteJobLogs under a follower is reported the same way (the job row stays)', async (t) => {
  const { store } = tempStore(t);
  const id = finishedJob(store, 200);
  const it = store.logs.follow(id);
  for (let i = 0; i < 3; i++) await it.next();
  store.logs.deleteJobLogs(id);
  await assert.rejects(
    (async () => {
      for (;;) if ((await it.next()).done) return;
    })(),
    (err: unknown) => isJobctlError(err) && err.code === 'NOT_FOUND' && /its stored output was deleted/.test(err.message),
  );
});
