import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJobctlError } from '../../src/rpc/errors.ts';
import type { JobState } from '../../src/rpc/model.ts';
import type { JobResult } from '../../src/store/index.ts';
import { addJob, newJob, tempStore } from './helpers.ts';

const exited: JobResult = { state: 'exited', exitCode: 0, signal: null, oomKilled: false, reason: null, endedAt: 1_700_000_009_000, cpuUsec: 1234, memoryPeakBytes: 5678 };

function coded(code: string, pattern: RegExp) {
  return (err: unknown) => isJobctlError(err) && err.code === code && pattern.test(err.message);
}

test('a job goes in as running and comes back field for field', (t) => {
  const { store } = tempStore(t);
  const spec = newJob({ name: 'build', argv: ['sh', '-c', 'echo "a b"'], env: { A: '1', EMPTY: '' }, limits: { cpu: 0.5, pids: 10 } });
  const row = store.jobs.insert(spec);
  assert.deepEqual(row, {
    id: row.id,
    ...spec,
    state: 'running',
    exitCode: null,
    signal: null,
    oomKilled: false,
    reason: null,
    pid: null,
    pidStartTime: null,
    cgroupKey: null,
    startedAt: null,
    endedAt: null,
    cpuUsec: null,
    memoryPeakBytes: null,
    logStoredBytes: 0,
    logDroppedBytes: 0,
    logDropReason: null,
  });
  assert.deepEqual(store.jobs.get(row.id), row);
  assert.equal(store.jobs.get(row.id + 1000), undefined);
});

test('markStarted then markFinished record the process and the result; a final job stays final', (t) => {
  const { store } = tempStore(t);
  const { id } = addJob(store);
  store.jobs.markStarted(id, { pid: 4242, pidStartTime: '123456', cgroupKey: 'job-1', startedAt: 1_700_000_001_000 });
  assert.deepEqual(store.jobs.running().map((r) => [r.id, r.pid, r.pidStartTime, r.cgroupKey, r.startedAt]), [[id, 4242, '123456', 'job-1', 1_700_000_001_000]]);
  const done = store.jobs.markFinished(id, { ...exited, state: 'stopped', exitCode: null, signal: 'SIGTERM', oomKilled: true });
  assert.equal(done.state, 'stopped');
  assert.equal(done.signal, 'SIGTERM');
  assert.equal(done.oomKilled, true);
  assert.equal(done.cpuUsec, 1234);
  assert.equal(done.memoryPeakBytes, 5678);
  assert.equal(done.endedAt, exited.endedAt);
  assert.equal(done.pid, 4242, 'the pid is kept for reference');
  assert.deepEqual(store.jobs.get(id), done);
  assert.deepEqual(store.jobs.running(), []);

  assert.throws(() => store.jobs.markFinished(id, exited), coded('CONFLICT', /cannot finish job \d+: it is already stopped/));
  assert.throws(() => store.jobs.markStarted(id, { pid: 1, pidStartTime: null, cgroupKey: null, startedAt: 0 }), coded('CONFLICT', /already stopped/));
  assert.throws(() => store.jobs.markFinished(9999, exited), coded('NOT_FOUND', /job 9999 does not exist/));
  assert.throws(() => store.jobs.markStarted(9999, { pid: 1, pidStartTime: null, cgroupKey: null, startedAt: 0 }), coded('NOT_FOUND', /job 9999/));
  const other = addJob(store).id;
  assert.throws(() => store.jobs.markFinished(other, { ...exited, state: 'running' as never }), coded('INVALID_ARGUMENT', /final state "running"/));
});

test('a failed start is recorded without ever being started', (t) => {
  const { store } = tempStore(t);
  const { id } = addJob(store);
  const row = store.jobs.markFinished(id, { ...exited, state: 'failed', exitCode: null, reason: 'ENOENT: no such file: make' });
  assert.equal(row.state, 'failed');
  assert.equal(row.startedAt, null);
  assert.equal(row.reason, 'ENOENT: no such file: make');
});

test('ids are never reused, even after the newest job is deleted', (t) => {
  const { store } = tempStore(t);
  const a = addJob(store).id;
  const b = addJob(store).id;
  store.jobs.markFinished(b, exited);
  store.db.prepare('DELETE FROM jobs WHERE id = ?').run(b);
  const c = addJob(store).id;
  assert.ok(a < b && b < c, `${a} < ${b} < ${c}`);
});

test('list: newest first, by owner and state, paged by beforeId', (t) => {
  const { store } = tempStore(t);
  const ids: number[] = [];
  for (let i = 0; i < 10; i++) ids.push(addJob(store, { owner: i % 2 === 0 ? 'alice' : 'bob' }).id);
  for (const id of ids.slice(0, 4)) store.jobs.markFinished(id, exited);
  const all = store.jobs.list();
  assert.deepEqual(all.map((r) => r.id), [...ids].reverse());
  assert.deepEqual(store.jobs.list({ owner: 'bob' }).map((r) => r.id), ids.filter((_, i) => i % 2 === 1).reverse());
  assert.deepEqual(store.jobs.list({ states: ['exited'] }).map((r) => r.id), ids.slice(0, 4).reverse());
  assert.deepEqual(store.jobs.list({ states: ['running', 'lost'], owner: 'alice' }).map((r) => r.id), [ids[8], ids[6], ids[4]]);
  const page1 = store.jobs.list({ limit: 3 });
  const page2 = store.jobs.list({ limit: 3, beforeId: page1.at(-1)?.id });
  assert.deepEqual([...page1, ...page2].map((r) => r.id), [...ids].reverse().slice(0, 6));
  assert.deepEqual(store.jobs.list({ states: [] }), []);
  assert.throws(() => store.jobs.list({ limit: 0 }), coded('INVALID_ARGUMENT', /invalid limit 0/));
  assert.throws(() => store.jobs.list({ states: ['sleeping' as JobState] }), coded('INVALID_ARGUMENT', /invalid state "sleeping"/));
});

test('list stays fast with 10,000 jobs: every shape of the query uses an index', (t) => {
  const { store } = tempStore(t);
  // A realistic row: the client's environment is the bulk of it.
  const env = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`VAR_${i}`, 'x'.repeat(40)]));
  const owners = ['alice', 'bob', 'carol', 'dave', 'root'];
  store.db.transaction(() => {
    for (let i = 0; i < 10_000; i++) {
      const { id } = addJob(store, { owner: owners[i % owners.length], env, createdAt: 1_700_000_000_000 + i });
      if (i < 9_990) store.jobs.markFinished(id, exited);
    }
  })();

  const plans: Array<[string, string]> = [
    ["SELECT id FROM jobs WHERE owner = 'bob' ORDER BY id DESC LIMIT 50", 'jobs_owner_id'],
    ["SELECT id FROM jobs WHERE state = 'running' ORDER BY id", 'jobs_state'],
    ["SELECT id FROM jobs WHERE owner = 'bob' AND state IN (SELECT value FROM json_each('[\"running\"]')) ORDER BY id DESC LIMIT 50", 'jobs_'],
    ['SELECT id FROM jobs WHERE id < 5000 ORDER BY id DESC LIMIT 50', 'INTEGER PRIMARY KEY'],
  ];
  for (const [sql, index] of plans) {
    const plan = store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all().map((r) => (r as { detail: string }).detail).join(' | ');
    assert.ok(plan.includes(index), `${sql}: ${plan}`);
    assert.doesNotMatch(plan, /SCAN jobs(?! USING)/, `${sql} scans the table: ${plan}`);
  }

  const time = (fn: () => unknown): number => {
    const start = process.hrtime.bigint();
    fn();
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  const figures = {
    ownerPage: time(() => assert.equal(store.jobs.list({ owner: 'bob', limit: 50 }).length, 50)),
    running: time(() => assert.equal(store.jobs.running().length, 10)),
    runningOfOwner: time(() => assert.equal(store.jobs.list({ owner: 'carol', states: ['running'] }).length, 2)),
    deepPage: time(() => assert.equal(store.jobs.list({ beforeId: 100, limit: 50 }).length, 50)),
    // The daemon's default `ps` page.
    page1000: time(() => assert.equal(store.jobs.list({ limit: 1000 }).length, 1000)),
    everything: time(() => assert.equal(store.jobs.list().length, 10_000)),
  };
  t.diagnostic(`list with 10,000 jobs (ms): ${JSON.stringify(figures, (_, v: unknown) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v))}`);
  // Generous bounds (a loaded CI machine); the plans above are the real guarantee.
  for (const k of ['ownerPage', 'running', 'runningOfOwner', 'deepPage'] as const) assert.ok(figures[k] < 100, `${k} took ${figures[k]} ms`);
});
