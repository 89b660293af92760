// The tail lookup visits only the chunks it needs: each stream is read backwards on its own, so a
// stream with fewer lines than asked stops at its oldest chunk instead of walking the other stream's
// rows back to the start of the log.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StreamId } from '../../src/rpc/model.ts';
import { prepareLogSql, type LogSql } from '../../src/store/log-sql.ts';
import { findTail, tailPart } from '../../src/store/log-tail.ts';
import type { Store } from '../../src/store/index.ts';
import { addJob, tempStore } from './helpers.ts';

/** The store's log statements, counting how often they run and how many rows they hand back. */
function countingSql(store: Store): { sql: LogSql; queries: () => number; rows: () => number } {
  const sql = prepareLogSql(store.db);
  let queries = 0;
  let rows = 0;
  for (const stmt of Object.values(sql)) {
    const s = stmt as unknown as Record<'get' | 'all' | 'iterate', (...a: unknown[]) => unknown>;
    const { get, all, iterate } = { get: s.get.bind(s), all: s.all.bind(s), iterate: s.iterate.bind(s) };
    s.get = (...a) => {
      queries++;
      const r = get(...a);
      if (r !== undefined) rows++;
      return r;
    };
    s.all = (...a) => {
      queries++;
      const r = all(...a) as unknown[];
      rows += r.length;
      return r;
    };
    s.iterate = (...a) => {
      queries++;
      const it = iterate(...a) as IterableIterator<unknown>;
      return {
        next: () => {
          const r = it.next();
          if (!r.done) rows++;
          return r;
        },
        return: (v?: unknown) => it.return?.(v) ?? { done: true, value: v },
        [Symbol.iterator]() {
          return this;
        },
      };
    };
  }
  return { sql, queries: () => queries, rows: () => rows };
}

/** Inserts chunks straight into the table (one transaction): a large log in well under a second. */
function insertChunks(store: Store, id: number, chunks: Array<[StreamId, string]>): void {
  const insert = store.db.prepare('INSERT INTO log_chunks (job_id, seq, stream, at, pos, data) VALUES (?, ?, ?, ?, ?, ?)');
  store.db.transaction(() => {
    let pos = 0;
    chunks.forEach(([stream, text], i) => {
      const data = Buffer.from(text);
      insert.run(id, i + 1, stream, 0, pos, data);
      pos += data.length;
    });
    store.db.prepare('UPDATE jobs SET log_stored_bytes = ? WHERE id = ?').run(pos, id);
  })();
}

test('tail of both streams, one with fewer lines than asked: only the chunks it needs are visited', async (t) => {
  const { store } = tempStore(t);
  const { id } = addJob(store);
  const total = 200_000;
  // stderr: two lines early on; stdout: one line a chunk, everything else.
  const chunks = Array.from({ length: total }, (_, i): [StreamId, string] => (i === 10 || i === 20 ? [2, `err ${i}\n`] : [1, `out ${i}\n`]));
  insertChunks(store, id, chunks);
  const { sql, queries, rows } = countingSql(store);
  const started = performance.now();
  const tail = await findTail(sql, id, 10);
  const took = performance.now() - started;
  t.diagnostic(`tail 10 of both streams over ${total} chunks (stderr: 2 lines): ${queries()} queries, ${rows()} rows, ${took.toFixed(2)} ms`);
  // stdout's last 10 lines are its last 10 chunks: the tail starts after the break that ends the
  // chunk before them (seq total - 10, line total - 11); stderr's is all it has, in its 2 chunks.
  const skip = `out ${total - 11}\n`.length;
  assert.deepEqual(tail.starts, [{ stream: 1, seq: total - 10, skip }, { stream: 2, seq: 0, skip: 0 }]);
  assert.equal(tail.afterSeq, 10, 'the replay begins at stderr\'s oldest chunk (seq 11), not at the start of the log');
  assert.ok(queries() <= 6, `${queries()} queries`);
  assert.ok(rows() <= 20, `${rows()} rows`);

  // The per-stream walk seeks the stream's index; the follower's page still walks the primary key.
  const plan = (q: string): string => store.db.prepare(`EXPLAIN QUERY PLAN ${q}`).all().map((r) => (r as { detail: string }).detail).join(' | ');
  assert.match(plan('SELECT seq, data FROM log_chunks WHERE job_id = 1 AND stream = 2 AND seq < 9 ORDER BY seq DESC LIMIT 5'), /USING INDEX log_chunks_stream \(job_id=\? AND stream=\? AND seq<\?\)/);
  assert.match(plan('SELECT seq, stream, at, pos FROM log_chunks WHERE job_id = 1 AND seq > 9 ORDER BY seq LIMIT 5'), /sqlite_autoindex_log_chunks_1/);

  // A stream with no output at all costs one query.
  const { id: quiet } = addJob(store);
  insertChunks(store, quiet, Array.from({ length: total }, (_, i): [StreamId, string] => [1, `out ${i}\n`]));
  const counted = countingSql(store);
  const q = await findTail(counted.sql, quiet, 3);
  assert.deepEqual(q, { endSeq: total, afterSeq: total - 4, starts: [{ stream: 1, seq: total - 3, skip: `out ${total - 4}\n`.length }, { stream: 2, seq: 0, skip: 0 }] });
  assert.ok(counted.queries() <= 4 && counted.rows() <= 6, `${counted.queries()} queries, ${counted.rows()} rows`);
});

/** The last n lines of one stream's text, as tail(1) prints them. */
function lastLines(text: string, n: number): string {
  if (n === 0 || text === '') return '';
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const parts = body.split('\n');
  return parts.slice(-n).join('\n') + (text.endsWith('\n') ? '\n' : '');
}

test('tail per stream agrees with a plain count on random logs (streams, end points, fewer lines)', async (t) => {
  const { store } = tempStore(t);
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 40; round++) {
    const { id } = addJob(store);
    const chunks = Array.from({ length: 1 + rand(60) }, (): [StreamId, string] => {
      const stream = (rand(4) === 0 ? 2 : 1) as StreamId;
      const text = Array.from({ length: 1 + rand(6) }, () => ['a', 'bb', '\n', 'ccc\n', '\n\n'][rand(5)]).join('');
      return [stream, text];
    });
    insertChunks(store, id, chunks);
    const endSeq = rand(3) === 0 ? 1 + rand(chunks.length) : undefined;
    const upTo = chunks.slice(0, endSeq ?? chunks.length);
    const streams: StreamId[] | undefined = [undefined, [1], [2]][rand(3)] as StreamId[] | undefined;
    const n = rand(12);
    const tail = await store.logs.tail(id, n, { streams, endSeq });
    const got: Record<number, string> = { 1: '', 2: '' };
    for (const c of store.logs.read(id, { afterSeq: tail.afterSeq, limit: 10_000, maxBytes: Number.MAX_SAFE_INTEGER, streams })) {
      if (c.seq > tail.endSeq) break;
      const part = tailPart(tail, c);
      if (part !== null) got[c.stream] += part.toString();
    }
    for (const s of streams ?? [1, 2]) {
      const text = upTo.filter(([st]) => st === s).map(([, x]) => x).join('');
      assert.equal(got[s], lastLines(text, n), `round ${round}, stream ${s}, ${n} lines, endSeq ${endSeq}: ${JSON.stringify(upTo)}`);
    }
    // afterSeq is no later than needed and, when a stream has output, no earlier than its oldest wanted chunk.
    assert.ok(tail.afterSeq <= tail.endSeq);
  }
});
