import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJobctlError } from '../../src/rpc/errors.ts';
import type { StreamId } from '../../src/rpc/model.ts';
import type { Store } from '../../src/store/index.ts';
import { addJob, tempStore } from './helpers.ts';

/** Writes each [stream, text] as its own chunk (a flush after each). */
function writeChunks(store: Store, parts: Array<[StreamId, string]>): number {
  const { id } = addJob(store);
  const w = store.logs.writer(id);
  for (const [s, text] of parts) {
    w.append(s, Buffer.from(text));
    w.flush();
  }
  w.close();
  return id;
}

/** Everything after afterSeq, as text. */
function textAfter(store: Store, id: number, afterSeq: number, streams?: StreamId[]): string {
  return store.logs
    .read(id, { afterSeq, limit: 10_000, maxBytes: Number.MAX_SAFE_INTEGER, streams })
    .map((c) => c.data.toString())
    .join('');
}

/** What tail(1) prints for the last n lines of text. */
function lastLines(text: string, n: number): string {
  if (n === 0) return '';
  const lines = text.split(/(?<=\n)/);
  return lines.slice(-n).join('');
}

test('read pages by seq: limit, maxBytes (at least one chunk), afterSeq, streams', (t) => {
  const { store } = tempStore(t);
  const parts: Array<[StreamId, string]> = Array.from({ length: 10 }, (_, i) => [i % 3 === 0 ? 2 : 1, `chunk-${i}|`.repeat(i + 1)]);
  const id = writeChunks(store, parts);
  const page1 = store.logs.read(id, { limit: 4 });
  assert.deepEqual(page1.map((c) => c.seq), [1, 2, 3, 4]);
  const page2 = store.logs.read(id, { afterSeq: 4, limit: 4 });
  assert.deepEqual(page2.map((c) => c.seq), [5, 6, 7, 8]);
  assert.deepEqual(store.logs.read(id, { afterSeq: 8 }).map((c) => c.seq), [9, 10]);
  assert.deepEqual(store.logs.read(id, { afterSeq: 10 }), []);
  // maxBytes: stops after the chunk that reaches it, never returns an empty page while data is left.
  assert.deepEqual(store.logs.read(id, { afterSeq: 5, maxBytes: 1 }).map((c) => c.seq), [6]);
  assert.deepEqual(store.logs.read(id, { maxBytes: 8 + 16 }).map((c) => c.seq), [1, 2]);
  assert.deepEqual(store.logs.read(id, { streams: [2] }).map((c) => c.seq), [1, 4, 7, 10]);
  assert.deepEqual(store.logs.read(id, { streams: [1], afterSeq: 4, limit: 2 }).map((c) => c.seq), [5, 6]);
  for (const c of store.logs.read(id)) assert.equal(c.data.toString(), parts[c.seq - 1]?.[1]);
  assert.ok(store.logs.read(id)[0]?.at, 'chunks carry their time');
  assert.deepEqual(store.logs.read(9999), [], 'an unknown job has no output');

  const bad = (q: object) => assert.throws(() => store.logs.read(id, q), (e: unknown) => isJobctlError(e) && e.code === 'INVALID_ARGUMENT');
  bad({ limit: 0 });
  bad({ afterSeq: -1 });
  bad({ maxBytes: 0.5 });
  bad({ streams: [] });
  bad({ streams: [3] });
});

test('tailSeq finds where the last N lines start, with lines spanning chunks', (t) => {
  const { store } = tempStore(t);
  const parts: Array<[StreamId, string]> = [
    [1, 'one\ntw'],
    [1, 'o\nthr'],
    [1, 'ee'],
    [1, '\nfour\nfive\n'],
    [1, 'six'],
    [1, ' still six\nseven\n'],
  ];
  const id = writeChunks(store, parts);
  const text = parts.map(([, s]) => s).join('');
  for (let n = 0; n <= 9; n++) {
    const after = store.logs.tailSeq(id, n);
    const got = textAfter(store, id, after);
    assert.ok(got.endsWith(lastLines(text, n)), `tail ${n}: after ${after} gives ${JSON.stringify(got)}`);
    // …and not more than one chunk too much: the start chunk holds the N-th last line's start.
    const next = textAfter(store, id, after + 1);
    if (n > 0 && n <= 7) assert.ok(!next.endsWith(lastLines(text, n)) || next === got, `tail ${n} starts at the right chunk`);
  }
  assert.equal(store.logs.tailSeq(id, 1), 5, '"seven" starts inside chunk 6');
  assert.equal(store.logs.tailSeq(id, 3), 3, '"five" starts inside chunk 4');
});

test('tailSeq: unterminated last line, a break that ends a chunk, streams, empty logs', (t) => {
  const { store } = tempStore(t);
  const id = writeChunks(store, [
    [1, 'a\n'], // 1
    [2, 'E1\nE2\n'], // 2
    [1, 'b\n'], // 3
    [1, 'c'], // 4: unterminated
  ]);
  // Last line is "c" (chunk 4); two lines: "b\n" + "c": chunk 3 starts right after the break ending chunk 2.
  assert.equal(textAfter(store, id, store.logs.tailSeq(id, 1)), 'c');
  assert.equal(textAfter(store, id, store.logs.tailSeq(id, 2)).endsWith('b\nc'), true);
  assert.equal(store.logs.tailSeq(id, 2, [1]), 1, 'stdout only: the break before "b" is the last byte of chunk 1');
  assert.equal(store.logs.tailSeq(id, 2), 2, 'both streams: the break before "b" is the last byte of chunk 2');
  assert.equal(textAfter(store, id, store.logs.tailSeq(id, 2, [1]), [1]), 'b\nc');
  assert.equal(textAfter(store, id, store.logs.tailSeq(id, 1, [2]), [2]).endsWith('E2\n'), true);
  assert.equal(store.logs.tailSeq(id, 100), 0, 'fewer lines than asked: from the start');
  assert.equal(store.logs.tailSeq(id, 0), 4, 'no lines: after the last chunk');
  const empty = addJob(store).id;
  assert.equal(store.logs.tailSeq(empty, 10), 0);
  assert.equal(store.logs.tailSeq(empty, 0), 0);
  assert.throws(() => store.logs.tailSeq(id, -1), (e: unknown) => isJobctlError(e) && e.code === 'INVALID_ARGUMENT');
});

test('tailSeq reads backwards in pages, never the whole log', (t) => {
  const { store } = tempStore(t, { maxChunkBytes: 64 });
  const { id } = addJob(store);
  const w = store.logs.writer(id);
  for (let i = 0; i < 50_000; i++) w.append(1, Buffer.from(`line ${i}\n`));
  w.close();
  const seq = store.logs.tailSeq(id, 10);
  assert.equal(textAfter(store, id, seq).split('\n').slice(-11, -1).join(','), Array.from({ length: 10 }, (_, i) => `line ${49_990 + i}`).join(','));
  // Reading the whole log vs finding the last 10 lines: the second must not scale with the first.
  const ms = (fn: () => unknown, times: number): number => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < times; i++) fn();
    return Number(process.hrtime.bigint() - start) / 1e6 / times;
  };
  const whole = ms(() => textAfter(store, id, 0), 3);
  const tail = ms(() => store.logs.tailSeq(id, 10), 100);
  const chunks = store.logs.read(id, { afterSeq: seq }).length;
  t.diagnostic(`tailSeq(10) over a ${store.jobs.get(id)?.logStoredBytes} byte log: ${tail.toFixed(3)} ms; reading it all: ${whole.toFixed(1)} ms; start chunk ${seq}, ${chunks} chunks after it`);
  assert.ok(tail * 20 < whole, `tail ${tail} ms vs whole ${whole} ms`);
});
