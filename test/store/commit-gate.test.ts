// The commit gate (src/store/commit-gate.ts) and how a log writer obeys it: while the checkpointer
// holds commits, queued commits wait and the event loop goes on; commits that must happen now do not
// wait; a queue that outgrows the hold asks its producer to pause until the opening, and only a
// producer that ignores that makes the writer wait for the pass, blocking. The writer runs over a
// real store's statements with a gate of the test's own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeldCommits } from '../../src/store/commit-gate.ts';
import { prepareLogSql } from '../../src/store/log-sql.ts';
import { createCommitBatch, HELD_BLOCKING_FACTOR, HELD_PENDING_FACTOR, JobLogWriter, type WriterLimits } from '../../src/store/log-writer.ts';
import { CommitNotifier } from '../../src/store/notifier.ts';
import type { Store } from '../../src/store/index.ts';
import { addJob, nextTurn, tempStore, until } from './helpers.ts';

const MIB = 1024 * 1024;

/** A writer for a new job of the store, obeying `gate`. */
function gatedWriter(store: Store, gate: HeldCommits, limits: WriterLimits): JobLogWriter {
  const sql = prepareLogSql(store.db);
  const { id } = addJob(store);
  return new JobLogWriter(id, {
    sql,
    commit: createCommitBatch(store.db, sql),
    notifier: new CommitNotifier(),
    limits,
    onWriteError: undefined,
    onClose: () => undefined,
    afterCommit: () => undefined,
    gate,
  });
}

test('the gate: held until opened or its time is up; waiters run once, at the opening', async () => {
  const gate = new HeldCommits();
  let runs = 0;
  const fn = (): void => {
    runs++;
  };
  gate.whenOpen(fn);
  assert.equal(runs, 1, 'an open gate runs at once');
  gate.hold(60_000, () => undefined);
  assert.equal(gate.held, true);
  gate.whenOpen(fn);
  gate.whenOpen(fn);
  assert.equal(runs, 1);
  gate.open();
  assert.equal(gate.held, false);
  assert.equal(runs, 2, 'registered once, run once');
  gate.hold(20, () => undefined);
  gate.whenOpen(fn);
  await until(() => !gate.held, 'the hold to time out', 5000);
  assert.equal(runs, 3);
});

test('waitOpen blocks for the pass (at most the rest of the hold), then opens', () => {
  const gate = new HeldCommits();
  const asked: number[] = [];
  gate.hold(1000, (ms) => asked.push(ms));
  gate.waitOpen();
  assert.equal(asked.length, 1);
  assert.ok((asked[0] ?? 0) > 900 && (asked[0] ?? 0) <= 1000, `waited for up to ${asked[0]} ms`);
  assert.equal(gate.held, false);
  assert.equal(gate.waits, 1);
  gate.waitOpen();
  assert.equal(asked.length, 1, 'an open gate does not wait');
});

test('a held gate: queued commits wait while the event loop goes on, and all commit at the opening', async (t) => {
  const { store } = tempStore(t, { checkpoints: { worker: false } });
  const gate = new HeldCommits();
  const w = gatedWriter(store, gate, { capBytes: 64 * MIB, maxChunkBytes: 256 * 1024, maxPendingBytes: 1 * MIB });
  // A streaming job (its last commit was big): its commits are the ones a hold waits for.
  w.append(1, Buffer.alloc(256 * 1024));
  w.flush();
  const before = w.committedSeq;
  gate.hold(60_000, () => assert.fail('no writer should block'));
  w.append(1, Buffer.from('held\n'));
  await nextTurn();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(w.committedSeq, before, 'nothing committed while held');
  // Past maxPendingBytes, still below the held limit: queued, not committed, not blocking.
  w.append(1, Buffer.alloc(1.5 * MIB));
  assert.equal(w.committedSeq, before);
  gate.open();
  assert.ok(w.committedSeq > before, 'committed as the gate opened');
  assert.equal(w.storedBytes, 256 * 1024 + 5 + 1.5 * MIB);
  w.close();
});

test('a held gate: a job that is not streaming commits at once (its lines reach followers), and the gate is told so', async (t) => {
  const { store } = tempStore(t, { checkpoints: { worker: false } });
  const gate = new HeldCommits();
  const limits = { capBytes: 64 * MIB, maxChunkBytes: 256 * 1024, maxPendingBytes: 1 * MIB };
  const chatty = gatedWriter(store, gate, limits);
  const flood = gatedWriter(store, gate, limits);
  // The flood's first commit makes it a streaming job.
  flood.append(1, Buffer.alloc(256 * 1024));
  flood.flush();
  gate.hold(60_000, () => assert.fail('no writer should block'));
  assert.equal(gate.takePassed(), false);
  chatty.append(1, Buffer.from('a line\n'));
  flood.append(1, Buffer.alloc(128 * 1024));
  const floodSeq = flood.committedSeq;
  await nextTurn();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(chatty.storedBytes, 7, 'the line is committed while the gate is held');
  assert.equal(flood.committedSeq, floodSeq, "the streaming job's commit waits");
  assert.equal(gate.passed, 1);
  assert.equal(gate.takePassed(), true, 'the checkpointer learns a commit went through the hold');
  assert.equal(gate.takePassed(), false, 'once');
  gate.open();
  assert.ok(flood.committedSeq > floodSeq, 'the streaming job commits at the opening');
  chatty.close();
  flood.close();
});

test('a held gate does not stop flush() or close(); past the held limit the producer is asked to pause until the opening, never blocked', async (t) => {
  const { store } = tempStore(t, { checkpoints: { worker: false } });
  const gate = new HeldCommits();
  const limits = { capBytes: 256 * MIB, maxChunkBytes: 256 * 1024, maxPendingBytes: 1 * MIB };
  const w = gatedWriter(store, gate, limits);
  gate.hold(60_000, () => assert.fail('flush must not wait'));
  w.append(2, Buffer.from('now\n'));
  w.flush();
  assert.ok(w.committedSeq > 0, 'flush commits at once');
  w.close();

  const v = gatedWriter(store, gate, limits);
  gate.hold(60_000, () => assert.fail('a producer that pauses never blocks the event loop'));
  assert.equal(v.append(1, Buffer.alloc(HELD_PENDING_FACTOR * limits.maxPendingBytes - 1)), true, 'below the held limit: go on');
  assert.equal(v.committedSeq, 0, 'queued');
  assert.equal(v.append(1, Buffer.alloc(1)), false, 'at the held limit: pause');
  assert.equal(gate.pauses, 1);
  let drained = false;
  void v.drained().then(() => (drained = true));
  await nextTurn();
  assert.equal(drained, false, 'drained() waits for the opening');
  assert.equal(v.committedSeq, 0, 'still queued');
  gate.open();
  await nextTurn();
  assert.equal(drained, true, 'drained() resolves once the queue is committed');
  assert.equal(v.storedBytes, HELD_PENDING_FACTOR * limits.maxPendingBytes);
  await v.drained();
  v.close();
});

test('a producer that ignores the pause: at the blocking limit the writer waits for the pass, blocking, then commits', async (t) => {
  const { store } = tempStore(t, { checkpoints: { worker: false } });
  const gate = new HeldCommits();
  const limits = { capBytes: 256 * MIB, maxChunkBytes: 256 * 1024, maxPendingBytes: 1 * MIB };
  const v = gatedWriter(store, gate, limits);
  let waited = 0;
  gate.hold(60_000, () => waited++);
  assert.equal(v.append(1, Buffer.alloc(HELD_BLOCKING_FACTOR * limits.maxPendingBytes - 1)), false);
  assert.equal(waited, 0, 'below the blocking limit: no wait');
  assert.equal(v.committedSeq, 0);
  let drained = false;
  void v.drained().then(() => (drained = true));
  assert.equal(v.append(1, Buffer.alloc(1)), true, 'committed: nothing queued any more');
  assert.equal(waited, 1, 'at the blocking limit: waited for the pass');
  assert.equal(gate.held, false, 'which opened the gate');
  assert.equal(v.storedBytes, HELD_BLOCKING_FACTOR * limits.maxPendingBytes, 'and committed');
  await nextTurn();
  assert.equal(drained, true, 'the paused producer may go on');
  v.close();
});
