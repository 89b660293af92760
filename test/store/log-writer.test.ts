import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { isJobctlError } from '../../src/rpc/errors.ts';
import type { StreamId } from '../../src/rpc/model.ts';
import type { LogChunk, Store } from '../../src/store/index.ts';
import { addJob, chunkBytes, collect, commitCounter, nextTurn, tempStore } from './helpers.ts';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const shape = (chunks: LogChunk[]) => chunks.map((c) => [c.seq, c.stream, c.data.toString('latin1')]);
const readAll = (store: Store, jobId: number) => store.logs.read(jobId, { limit: 10_000, maxBytes: Number.MAX_SAFE_INTEGER });

test('appends in one turn coalesce per stream and commit in ONE transaction on the next turn', async (t) => {
  const { store } = tempStore(t);
  const commits = commitCounter(store);
  const { id } = addJob(store);
  const w = store.logs.writer(id);
  for (const part of ['hel', 'lo ', 'world\n']) w.append(1, b(part));
  w.append(2, b('oops\n'));
  w.append(2, b('again\n'));
  w.append(1, b('more\n'));
  assert.deepEqual(readAll(store, id), [], 'nothing is committed within the turn');
  assert.equal(w.committedSeq, 0);
  await nextTurn();
  assert.deepEqual(shape(readAll(store, id)), [
    [1, 1, 'hello world\n'],
    [2, 2, 'oops\nagain\n'],
    [3, 1, 'more\n'],
  ]);
  assert.equal(commits(), 1, 'one commit for the whole turn');
  assert.equal(w.committedSeq, 3);
  assert.equal(w.storedBytes, 28);
  assert.equal(store.jobs.get(id)?.logStoredBytes, 28, 'the job row is kept up to date');

  // A later turn starts new chunks (committed chunks are never appended to) and continues the seq.
  w.append(1, b('x'));
  w.append(1, b('y'));
  await nextTurn();
  assert.deepEqual(shape(readAll(store, id)).slice(3), [[4, 1, 'xy']]);
  assert.equal(commits(), 2);
  w.close();
});

test('chunks split at maxChunkBytes and keep filling up to it', async (t) => {
  const { store } = tempStore(t, { maxChunkBytes: 10 });
  const { id } = addJob(store);
  const w = store.logs.writer(id);
  w.append(1, b('0123456789abcdefghijKLMNO')); // 25 bytes: 10 + 10 + 5
  w.append(1, b('pqr')); // fills the 5-byte chunk to 8
  w.append(1, b('stuvw')); // 2 more fit, then a new chunk
  w.flush();
  assert.deepEqual(shape(readAll(store, id)), [
    [1, 1, '0123456789'],
    [2, 1, 'abcdefghij'],
    [3, 1, 'KLMNOpqrst'],
    [4, 1, 'uvw'],
  ]);
  for (const c of readAll(store, id)) assert.ok(c.data.length <= 10);
  w.close();
});

test('one order across both streams, and binary bytes come back byte for byte', async (t) => {
  const { store } = tempStore(t, { maxChunkBytes: 4096 });
  const { id } = addJob(store);
  const w = store.logs.writer(id);
  const nasty = Buffer.from([0x00, 0xff, 0xfe, 0xc3, 0x28, 0x80, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80, 0x00, 0x0a, 0x0d]);
  const expected: Array<[StreamId, Buffer]> = [];
  for (let turn = 0; turn < 20; turn++) {
    for (let i = 0; i < 5; i++) {
      const stream: StreamId = (turn + i) % 3 === 0 ? 2 : 1;
      const data = Buffer.concat([nasty, randomBytes(1 + ((turn * 7 + i * 131) % 3000))]);
      w.append(stream, data);
      expected.push([stream, data]);
    }
    if (turn % 2 === 0) await nextTurn();
    else w.flush();
  }
  w.close();
  const chunks = readAll(store, id);
  assert.deepEqual(chunks.map((c) => c.seq), chunks.map((_, i) => i + 1), 'seq ascends without holes');
  for (const s of [1, 2] as const) {
    const want = Buffer.concat(expected.filter(([st]) => st === s).map(([, d]) => d));
    const got = Buffer.concat(chunks.filter((c) => c.stream === s).map((c) => c.data));
    assert.ok(got.equals(want), `stream ${s}: ${got.length} bytes back, ${want.length} written`);
  }
  // Interleaving is preserved: the sequence of (stream, bytes) runs is the same.
  const runs = (list: Array<[StreamId, Buffer]>) => {
    const out: Array<[StreamId, Buffer[]]> = [];
    for (const [s, d] of list) {
      const last = out.at(-1);
      if (last && last[0] === s) last[1].push(d);
      else out.push([s, [d]]);
    }
    return out.map(([s, ds]) => [s, Buffer.concat(ds).toString('hex')]);
  };
  assert.deepEqual(runs(chunks.map((c) => [c.stream, c.data])), runs(expected));
  const total = expected.reduce((n, [, d]) => n + d.length, 0);
  assert.equal(store.jobs.get(id)?.logStoredBytes, total);
});

test('a flood within one turn is bounded: beyond the pending limit it commits at once', async (t) => {
  const { store } = tempStore(t, { maxChunkBytes: 64 * 1024 });
  const commits = commitCounter(store);
  const { id } = addJob(store);
  const w = store.logs.writer(id);
  const piece = Buffer.alloc(64 * 1024, 0x61);
  for (let i = 0; i < 100; i++) w.append(1, piece); // 6.4 MiB in one turn
  assert.ok(w.committedSeq > 0, 'committed before the turn ended');
  assert.ok(commits() >= 1 && commits() <= 2, `${commits()} commits`);
  await nextTurn();
  assert.equal(w.storedBytes, 100 * 64 * 1024);
  w.close();
});

test('one writer per job; unknown jobs refused; close flushes, ends liveness and ignores later appends', async (t) => {
  const { store } = tempStore(t);
  const { id } = addJob(store);
  const w = store.logs.writer(id);
  assert.equal(store.logs.isLive(id), true);
  assert.throws(() => store.logs.writer(id), (e: unknown) => isJobctlError(e) && e.code === 'CONFLICT' && /job \d+ already has an open log writer/.test(e.message));
  assert.throws(() => store.logs.writer(424242), (e: unknown) => isJobctlError(e) && e.code === 'NOT_FOUND' && /job 424242/.test(e.message));
  assert.throws(() => store.logs.deleteJobLogs(id), (e: unknown) => isJobctlError(e) && e.code === 'CONFLICT');
  w.append(1, b('last words'));
  w.close();
  assert.equal(store.logs.isLive(id), false);
  assert.deepEqual(shape(readAll(store, id)), [[1, 1, 'last words']], 'close flushed synchronously');
  w.append(1, b('ignored'));
  w.close();
  await nextTurn();
  assert.equal(readAll(store, id).length, 1);

  // A new writer for the same job continues after what is stored.
  const again = store.logs.writer(id);
  again.append(2, b('more'));
  again.close();
  assert.deepEqual(shape(readAll(store, id)), [
    [1, 1, 'last words'],
    [2, 2, 'more'],
  ]);
  store.logs.deleteJobLogs(id);
  assert.deepEqual(readAll(store, id), []);
  assert.equal(store.jobs.get(id)?.logStoredBytes, 0);
});

test('the cap keeps the latest output, counts what it removed, and followers get one gap marker', async (t) => {
  const { store } = tempStore(t, { logCapBytes: 1000, maxChunkBytes: 100 });
  const { id } = addJob(store);
  const w = store.logs.writer(id);
  const all: Buffer[] = [];
  for (let i = 0; i < 50; i++) {
    const line = b(`line ${String(i).padStart(3, '0')} ${'#'.repeat(i % 40)}\n`);
    w.append(i % 5 === 0 ? 2 : 1, line);
    all.push(line);
    if (i % 7 === 0) await nextTurn();
  }
  w.close();
  const total = all.reduce((n, l) => n + l.length, 0);
  const row = store.jobs.get(id);
  assert.ok(row);
  assert.ok(row.logStoredBytes <= 1000, `stored ${row.logStoredBytes}`);
  assert.ok(row.logStoredBytes > 1000 - 100, 'only whole chunks beyond the cap are removed');
  assert.equal(row.logStoredBytes + row.logDroppedBytes, total, 'stored + dropped = everything written');
  assert.equal(row.logDropReason, 'log cap 1000 bytes');
  assert.equal(w.storedBytes, row.logStoredBytes);
  assert.equal(w.droppedBytes, row.logDroppedBytes);

  const chunks = readAll(store, id);
  const kept = Buffer.concat(chunks.map((c) => c.data));
  assert.equal(kept.length, row.logStoredBytes);
  assert.ok(Buffer.concat(all).subarray(total - kept.length).equals(kept), 'what is kept is the latest output, in order');

  const items = await collect(store.logs.follow(id));
  assert.deepEqual(items[0], { kind: 'gap', droppedBytes: row.logDroppedBytes, reason: 'log cap 1000 bytes' });
  assert.equal(items.filter((i) => i.kind === 'gap').length, 1, 'one marker');
  assert.ok(chunkBytes(items).equals(kept));
  // A follower that starts inside what is kept sees no marker.
  const first = chunks[0];
  assert.ok(first);
  const inside = await collect(store.logs.follow(id, { afterSeq: first.seq }));
  assert.equal(inside.filter((i) => i.kind === 'gap').length, 0);
});

test('a cap below the chunk size shrinks the chunks so the cap still holds', async (t) => {
  const { store } = tempStore(t, { logCapBytes: 50, maxChunkBytes: 4096 });
  const { id } = addJob(store);
  const w = store.logs.writer(id);
  w.append(1, Buffer.alloc(170, 0x7a));
  w.close();
  // Chunks of 50, 50, 50, 20: whole chunks go, so the newest 20 bytes are what fits.
  const row = store.jobs.get(id);
  assert.equal(row?.logStoredBytes, 20);
  assert.equal(row?.logDroppedBytes, 150);
  assert.deepEqual(readAll(store, id).map((c) => [c.seq, c.data.length]), [[4, 20]]);
});

/**
 * Makes commits fail the way a full disk does: a temp trigger calls a function that throws an error
 * coded SQLITE_FULL (better-sqlite3 passes a function's exception through unchanged).
 */
function injectDiskFull(store: Store, tables: { chunks: boolean; jobRow: boolean }): { set(on: boolean): void } {
  let failing = false;
  store.db.function('test_disk_full', () => {
    if (failing) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    return 0;
  });
  if (tables.chunks) store.db.exec('CREATE TEMP TRIGGER test_full_chunks BEFORE INSERT ON main.log_chunks BEGIN SELECT test_disk_full(); END');
  if (tables.jobRow) store.db.exec('CREATE TEMP TRIGGER test_full_jobs BEFORE UPDATE ON main.jobs BEGIN SELECT test_disk_full(); END');
  return { set: (on) => (failing = on) };
}

test('a full disk drops the batch without throwing, counts it, and writing resumes when space returns (injected failure)', async (t) => {
  const errors: unknown[] = [];
  const { store } = tempStore(t, { onLogWriteError: (_id, err) => errors.push(err) });
  const disk = injectDiskFull(store, { chunks: true, jobRow: false });
  const { id } = addJob(store);
  const w = store.logs.writer(id);
  w.append(1, b('before\n'));
  await nextTurn();
  disk.set(true);
  w.append(1, b('lost 1\n'));
  w.append(2, b('lost 2\n'));
  assert.doesNotThrow(() => w.flush());
  w.append(1, b('lost 3\n'));
  await nextTurn(); // the scheduled commit fails too, and must not throw out of setImmediate
  assert.equal(w.droppedBytes, 21);
  assert.equal(errors.length, 2);
  let row = store.jobs.get(id);
  assert.equal(row?.logDroppedBytes, 21, 'counted in the row at once (a one-row update still fit)');
  assert.equal(row?.logDropReason, 'disk full: database or disk is full');

  disk.set(false);
  w.append(1, b('after\n'));
  w.close();
  row = store.jobs.get(id);
  assert.equal(row?.logStoredBytes, 13);
  assert.equal(row?.logDroppedBytes, 21);
  assert.equal(row?.logDropReason, 'disk full: database or disk is full', 'the reason stays recorded');
  assert.deepEqual(shape(readAll(store, id)), [
    [1, 1, 'before\n'],
    [5, 1, 'after\n'],
  ], 'the lost seqs stay unused');
  const items = await collect(store.logs.follow(id));
  assert.deepEqual(items.map((i) => (i.kind === 'gap' ? `gap ${i.droppedBytes} ${i.reason}` : i.chunk.data.toString())), [
    'before\n',
    'gap 21 disk full: database or disk is full',
    'after\n',
  ]);
});

test('when even the job row cannot be written, the drop is counted with the next commit that works', async (t) => {
  const { store } = tempStore(t);
  const disk = injectDiskFull(store, { chunks: true, jobRow: true });
  const { id } = addJob(store);
  const w = store.logs.writer(id);
  disk.set(true);
  w.append(2, b('0123456789'));
  w.flush();
  assert.equal(w.droppedBytes, 10, 'the writer knows');
  assert.equal(store.jobs.get(id)?.logDroppedBytes, 0, 'the row could not be told yet');
  disk.set(false);
  w.append(1, b('ok'));
  w.flush();
  const row = store.jobs.get(id);
  assert.equal(row?.logDroppedBytes, 10);
  assert.equal(row?.logStoredBytes, 2);
  assert.equal(row?.logDropReason, 'disk full: database or disk is full');
  w.close();
});

test('both causes are recorded once each', async (t) => {
  const { store } = tempStore(t, { logCapBytes: 10, maxChunkBytes: 10 });
  const disk = injectDiskFull(store, { chunks: true, jobRow: false });
  const { id } = addJob(store);
  const w = store.logs.writer(id);
  w.append(1, b('0123456789abc'));
  w.flush();
  disk.set(true);
  w.append(1, b('xyz'));
  w.flush();
  w.append(1, b('xyz'));
  w.flush();
  disk.set(false);
  w.append(1, b('0123456789'));
  w.close();
  assert.equal(store.jobs.get(id)?.logDropReason, 'log cap 10 bytes; disk full: database or disk is full');
});

test('append copies the bytes: the caller may reuse its buffer at once (the spawner reads every pipe into one buffer)', async (t) => {
  const { store } = tempStore(t, { maxChunkBytes: 64 * 1024 });
  const { id } = addJob(store);
  const w = store.logs.writer(id);
  const shared = Buffer.alloc(40 * 1024);
  const expected: Buffer[] = [];
  // Small appends (a line) and streaming-sized ones (≥ 16 KiB), each overwritten right after.
  for (const [i, size] of [10, 20_000, 7, 40 * 1024, 3].entries()) {
    shared.fill(65 + i, 0, size);
    expected.push(Buffer.from(shared.subarray(0, size)));
    w.append(i % 2 === 0 ? 1 : 2, shared.subarray(0, size));
    shared.fill(0);
  }
  w.close();
  const stored = readAll(store, id);
  assert.deepEqual(Buffer.concat(stored.map((c) => c.data)), Buffer.concat(expected));
  assert.deepEqual(stored.map((c) => c.stream), [1, 2, 1, 2, 1]);
});
