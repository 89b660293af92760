import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJobctlError } from '../../src/rpc/errors.ts';
import type { StreamId } from '../../src/rpc/model.ts';
import { tailPart, type Store } from '../../src/store/index.ts';
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

/** What the tail of n lines yields, as [stream, text] pieces in seq order (adjacent pieces of one stream joined). */
async function tailPieces(store: Store, id: number, n: number, streams?: StreamId[], endSeq?: number): Promise<Array<[StreamId, string]>> {
  const tail = await store.logs.tail(id, n, { streams, endSeq });
  const out: Array<[StreamId, string]> = [];
  for (const c of store.logs.read(id, { afterSeq: tail.afterSeq, limit: 10_000, maxBytes: Number.MAX_SAFE_INTEGER, streams })) {
    if (c.seq > tail.endSeq) break;
    const part = tailPart(tail, c);
    if (part === null) continue;
    const last = out.at(-1);
    if (last && last[0] === c.stream) last[1] += part.toString();
    else out.push([c.stream, part.toString()]);
  }
  return out;
}

/** The text of one stream among pieces. */
const streamText = (pieces: Array<[StreamId, string]>, s: StreamId): string => pieces.filter(([p]) => p === s).map(([, t]) => t).join('');

test('tail finds where the last N lines start, with lines spanning chunks', async (t) => {
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
    assert.equal(streamText(await tailPieces(store, id, n), 1), lastLines(text, n), `tail ${n}`);
  }
  const one = await store.logs.tail(id, 1);
  assert.deepEqual(one.starts.find((s) => s.stream === 1), { stream: 1, seq: 6, skip: 11 }, '"seven" starts inside chunk 6');
  assert.deepEqual((await store.logs.tail(id, 3)).starts.find((s) => s.stream === 1), { stream: 1, seq: 4, skip: 6 }, '"five" starts inside chunk 4');
  assert.equal(one.endSeq, 6);
});

test('tail: unterminated last line, a break that ends a chunk, streams, empty logs', async (t) => {
  const { store } = tempStore(t);
  const id = writeChunks(store, [
    [1, 'a\n'], // 1
    [2, 'E1\nE2\n'], // 2
    [1, 'b\n'], // 3
    [1, 'c'], // 4: unterminated
  ]);
  assert.deepEqual(await tailPieces(store, id, 1, [1]), [[1, 'c']]);
  assert.deepEqual(await tailPieces(store, id, 2, [1]), [[1, 'b\nc']]);
  assert.deepEqual(await tailPieces(store, id, 1, [2]), [[2, 'E2\n']]);
  // Both streams: the last lines of each, in seq order.
  assert.deepEqual(await tailPieces(store, id, 1), [[2, 'E2\n'], [1, 'c']]);
  assert.deepEqual(await tailPieces(store, id, 2), [[2, 'E1\nE2\n'], [1, 'b\nc']]);
  assert.deepEqual(await tailPieces(store, id, 100), [[1, 'a\n'], [2, 'E1\nE2\n'], [1, 'b\nc']], 'fewer lines than asked: from the start');
  assert.deepEqual(await tailPieces(store, id, 0), [], 'no lines');
  assert.deepEqual(await store.logs.tail(id, 0), { endSeq: 4, afterSeq: 4, starts: [{ stream: 1, seq: 5, skip: 0 }, { stream: 2, seq: 5, skip: 0 }] });
  // An earlier end point: lines are counted up to it.
  assert.deepEqual(await tailPieces(store, id, 1, undefined, 3), [[2, 'E2\n'], [1, 'b\n']]);
  const empty = addJob(store).id;
  assert.deepEqual(await store.logs.tail(empty, 10), { endSeq: 0, afterSeq: 0, starts: [{ stream: 1, seq: 0, skip: 0 }, { stream: 2, seq: 0, skip: 0 }] });
  assert.deepEqual(await tailPieces(store, empty, 0), []);
  await assert.rejects(store.logs.tail(id, -1), (e: unknown) => isJobctlError(e) && e.code === 'INVALID_ARGUMENT');
  await assert.rejects(store.logs.tail(id, 1, { streams: [] }), (e: unknown) => isJobctlError(e) && e.code === 'INVALID_ARGUMENT');
});

test('tail counts lines per stream: a stderr chunk inside an unfinished stdout line does not split it', async (t) => {
  const { store } = tempStore(t);
  const id = writeChunks(store, [
    [1, 'out-1\nout-2 begins'], // 1
    [2, 'err-1\n'], // 2: inside stdout's unfinished line
    [1, ' and ends\nout-3'], // 3
    [2, 'err-2\nerr-3 unterminated'], // 4
  ]);
  // stdout's last 2 lines are whole although err-1 came in the middle of the first; err-1 is not
  // among stderr's last 2.
  assert.deepEqual(await tailPieces(store, id, 2), [
    [1, 'out-2 begins and ends\nout-3'],
    [2, 'err-2\nerr-3 unterminated'],
  ]);
  assert.deepEqual(await tailPieces(store, id, 3), [
    [1, 'out-1\nout-2 begins'],
    [2, 'err-1\n'],
    [1, ' and ends\nout-3'],
    [2, 'err-2\nerr-3 unterminated'],
  ]);
  assert.deepEqual(await tailPieces(store, id, 1), [[1, 'out-3'], [2, 'err-3 unterminated']]);
  assert.deepEqual(await tailPieces(store, id, 2, [1]), [[1, 'out-2 begins and ends\nout-3']]);
});

test('tail reads backwards in pages, never the whole log', async (t) => {
  const { store } = tempStore(t, { maxChunkBytes: 64 });
  const { id } = addJob(store);
  const w = store.logs.writer(id);
  for (let i = 0; i < 50_000; i++) w.append(1, Buffer.from(`line ${i}\n`));
  w.close();
  const text = streamText(await tailPieces(store, id, 10), 1);
  assert.equal(text.split('\n').slice(0, -1).join(','), Array.from({ length: 10 }, (_, i) => `line ${49_990 + i}`).join(','));
  // Reading the whole log vs finding the last 10 lines: the second must not scale with the first.
  const ms = async (fn: () => unknown, times: number): Promise<number> => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < times; i++) await fn();
    return Number(process.hrtime.bigint() - start) / 1e6 / times;
  };
  const whole = await ms(() => textAfter(store, id, 0), 3);
  const tail = await ms(() => store.logs.tail(id, 10, { streams: [1] }), 100);
  // Both streams, stderr empty: one index seek finds stderr has no chunks (log-tail-walk.test.ts).
  const both = await ms(() => store.logs.tail(id, 10), 10);
  t.diagnostic(`tail(10) of stdout over a ${store.jobs.get(id)?.logStoredBytes} byte log: ${tail.toFixed(3)} ms; of both streams (stderr empty): ${both.toFixed(2)} ms; reading it all: ${whole.toFixed(1)} ms`);
  assert.ok(tail * 20 < whole, `tail ${tail} ms vs whole ${whole} ms`);
});

test('a tail over a large log is spread over turns of the event loop', async (t) => {
  const { store } = tempStore(t);
  const { id } = addJob(store);
  const w = store.logs.writer(id);
  // 32 MiB of short lines, fewer than asked in each stream: the lookup reads all of it.
  const block = Buffer.from('0123456789abcdef0123456789abcde\n'.repeat(32 * 1024));
  for (let i = 0; i < 32; i++) {
    w.append(i % 2 === 0 ? 1 : 2, block);
    w.flush();
  }
  w.close();
  let turns = 0;
  let longest = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    turns++;
  }, 1);
  const started = performance.now();
  const tail = await store.logs.tail(id, 1_000_000);
  const took = performance.now() - started;
  clearInterval(ticker);
  t.diagnostic(`tail of 1e6 lines over 32 MiB (2 × 512 Ki lines): ${took.toFixed(0)} ms in ${turns} timer turns, longest gap ${longest.toFixed(1)} ms`);
  assert.deepEqual(tail.starts, [{ stream: 1, seq: 0, skip: 0 }, { stream: 2, seq: 0, skip: 0 }]);
  // Done at once, no timer could run until the end. (No bound on the longest gap: on a shared,
  // busy host one preemption can exceed any bound a test could set.)
  assert.ok(turns >= 8, `timers ran ${turns} times during the lookup`);
});
