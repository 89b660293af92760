// The gap marker a follower gets when it resumes after output the cap removed: the count never
// claims bytes the reader already had. Exact when the reader's end is known (its chunk is still
// stored, or it says where its output ended); otherwise an upper bound, marked and worded as one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogItem } from '../../src/store/index.ts';
import { addJob, collect, tempStore } from './helpers.ts';

test('a follower resuming at a chunk the cap removed: an honest upper bound, or the exact count with afterPos', async (t) => {
  const { store } = tempStore(t, { logCapBytes: 1000, maxChunkBytes: 100 });
  const { id } = addJob(store);
  const w = store.logs.writer(id);
  // 40 chunks of 100 bytes (a flush each): positions are 100 × (seq - 1).
  for (let i = 0; i < 40; i++) {
    w.append(i % 3 === 0 ? 2 : 1, Buffer.alloc(100, 0x61 + (i % 26)));
    w.flush();
  }
  w.close();
  const row = store.jobs.get(id);
  assert.ok(row);
  const first = store.logs.read(id, { limit: 1 })[0];
  assert.ok(first);
  assert.equal(first.seq, 31, 'the cap kept the last 10 chunks');
  const nextPos = 30 * 100;

  // The reader had chunks 1..20 (ends at byte 2000); chunks 21..30 are what it lacks: 1000 bytes.
  const resumed = await collect(store.logs.follow(id, { afterSeq: 20 }));
  const gap = resumed[0] as Extract<LogItem, { kind: 'gap' }>;
  assert.equal(gap.kind, 'gap');
  assert.equal(gap.upperBound, true, 'the chunk it resumed after is gone: the count cannot be exact');
  assert.equal(gap.droppedBytes, nextPos, 'the most that can be missing: everything before the first stored chunk');
  assert.match(gap.reason, /^log cap 1000 bytes; at most this much: reading resumed after chunk 20, which is no longer stored either/);
  assert.equal(resumed.filter((i) => i.kind === 'gap').length, 1);

  // Told where its output ended, the count is exact and reads as a plain gap.
  const exact = await collect(store.logs.follow(id, { afterSeq: 20, afterPos: 2000 }));
  assert.deepEqual(exact[0], { kind: 'gap', droppedBytes: 1000, reason: 'log cap 1000 bytes' });

  // A position that cannot be right (past the first stored chunk) is not trusted.
  const wrong = await collect(store.logs.follow(id, { afterSeq: 20, afterPos: 5000 }));
  assert.equal(wrong[0]?.kind === 'gap' && wrong[0].upperBound, true);

  // From the start, or after a chunk still stored, the count is exact and unmarked, as before.
  assert.deepEqual((await collect(store.logs.follow(id)))[0], { kind: 'gap', droppedBytes: row.logDroppedBytes, reason: 'log cap 1000 bytes' });
  assert.equal((await collect(store.logs.follow(id, { afterSeq: 31, afterPos: 1 }))).filter((i) => i.kind === 'gap').length, 0);

  assert.throws(() => store.logs.follow(id, { afterSeq: 20, afterPos: -1 }), /afterPos/);
});
