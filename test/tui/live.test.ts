// The live layer without a daemon: the store, the link over a fake connection, the follower and the
// pager over a fake log store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogSink } from '../../src/client/connection.ts';
import { JobctlError } from '../../src/rpc/errors.ts';
import type { JobInfo } from '../../src/rpc/model.ts';
import { Link } from '../../src/tui/live/link.ts';
import { LogFollower } from '../../src/tui/live/log-follower.ts';
import { LogPager } from '../../src/tui/live/log-pager.ts';
import type { RpcConnection } from '../../src/tui/live/types.ts';
import { TopStore } from '../../src/tui/model/top-store.ts';
import type { LogLine } from '../../src/tui/model/log-line.ts';
import { FakeLogs, fakeJob, until } from './fakes.ts';

const texts = (lines: readonly LogLine[]) => lines.map((l) => l.text);
const usage = (cpuUsec: number) => ({ cpuUsec, memoryBytes: 1024, memoryPeakBytes: 1024, pids: 1 });

test('store: coalesces changes into one notification and keeps usage history across a relist', async () => {
  let t = 1000;
  const store = new TopStore({ notifyIntervalMs: 50, now: () => t });
  let heard = 0;
  store.subscribe(() => heard++);
  store.replaceJobs([fakeJob(1), fakeJob(2, { state: 'exited' })]);
  store.upsertJob(fakeJob(3));
  store.addUsage(1, usage(0));
  t = 2000;
  store.addUsage(1, usage(250_000));
  store.addUsage(2, usage(99)); // ended: ignored
  await until('a notification', () => heard > 0);
  assert.equal(heard, 1);
  const snap = store.getSnapshot();
  assert.deepEqual(snap.jobs.map((v) => v.job.id), [3, 2, 1]);
  assert.equal(snap.counts.running, 2);
  assert.equal(snap.jobs[2]?.usage.cpuPercent, 25);
  assert.equal(snap.jobs[1]?.job.usage.cpuUsec, 0);
  store.replaceJobs([fakeJob(1)]);
  store.flush();
  assert.equal(store.getSnapshot().jobs[0]?.usage.cpuPercent, 25);
  store.dispose();
});

test('store: forgets the oldest finished jobs beyond its bound', () => {
  const store = new TopStore({ maxJobs: 3 });
  store.replaceJobs([fakeJob(1, { state: 'exited' }), fakeJob(2), fakeJob(3, { state: 'exited' }), fakeJob(4, { state: 'exited' })]);
  store.flush();
  assert.deepEqual(store.getSnapshot().jobs.map((v) => v.job.id), [4, 3, 2]);
  store.dispose();
});

/** A scripted connection: answers calls from a table, lets the test push events and drop it. */
class FakeConnection {
  readonly calls: Array<[string, unknown]> = [];
  private readonly handlers = new Map<string, Set<(p: never) => void>>();
  private readonly closeHandlers: Array<(err: JobctlError) => void> = [];
  listGate: Promise<void> = Promise.resolve();
  closed = false;
  private readonly role: 'admin' | 'user' | 'viewer';
  private readonly jobs: () => JobInfo[];
  constructor(role: 'admin' | 'user' | 'viewer', jobs: () => JobInfo[]) {
    this.role = role;
    this.jobs = jobs;
  }
  private nextSub = 10;
  call(method: string, params: unknown): Promise<unknown> {
    this.calls.push([method, params]);
    if (this.closed) return Promise.reject(new JobctlError('UNAVAILABLE', 'closed'));
    switch (method) {
      case 'session.info':
        return Promise.resolve({ user: 'alice', role: this.role, protocolVersion: 1, serverVersion: 'x' });
      case 'daemon.info':
        return Promise.resolve({ endpoint: 'wss://127.0.0.1:1' });
      case 'events.subscribe':
        return Promise.resolve({ subscription: this.nextSub++ });
      case 'job.list':
        return this.listGate.then(() => this.jobs());
      case 'job.stop':
        return Promise.resolve(fakeJob((params as { id: number }).id, { state: 'stopped', signal: 'SIGTERM' }));
      default:
        return Promise.resolve({});
    }
  }
  on(event: string, handler: (p: never) => void): () => void {
    const set = this.handlers.get(event) ?? new Set();
    this.handlers.set(event, set);
    set.add(handler);
    return () => set.delete(handler);
  }
  emit(event: string, params: unknown): void {
    for (const h of this.handlers.get(event) ?? []) h(params as never);
  }
  onClose(handler: (err: JobctlError) => void): void {
    this.closeHandlers.push(handler);
  }
  drop(): void {
    this.closed = true;
    for (const h of this.closeHandlers) h(new JobctlError('UNAVAILABLE', 'connection to the daemon closed (code 1006)'));
  }
  streamLogs(_p: unknown, _s: LogSink): Promise<{ subscription: number; done: Promise<string> }> {
    return Promise.resolve({ subscription: 99, done: new Promise(() => undefined) });
  }
  close(): void {
    this.closed = true;
  }
}

test('link: subscribes before listing, applies events that raced the list after it, never polls', async () => {
  const store = new TopStore({ notifyIntervalMs: 0 });
  let release!: () => void;
  const conn = new FakeConnection('admin', () => [fakeJob(1, { state: 'running' })]);
  conn.listGate = new Promise((r) => (release = r));
  const link = new Link({ connect: async () => conn as unknown as RpcConnection, store, all: true });
  link.start();
  await until('the list request', () => conn.calls.some(([m]) => m === 'job.list'));
  // Job 1 ended while the list was on its way: the event is newer than the list's answer.
  conn.emit('job.changed', { subscription: 10, job: fakeJob(1, { state: 'exited', exitCode: 0 }) });
  release();
  await until('live', () => store.getSnapshot().link.kind === 'live');
  store.flush();
  assert.equal(store.getSnapshot().jobs[0]?.job.state, 'exited');
  assert.deepEqual(
    conn.calls.map(([m]) => m),
    ['session.info', 'daemon.info', 'events.subscribe', 'job.list'],
  );
  assert.deepEqual(conn.calls[2]?.[1], { all: true, usage: true });
  conn.emit('job.changed', { subscription: 10, job: fakeJob(2) });
  conn.emit('job.usage', { subscription: 10, id: 2, usage: usage(5) });
  store.flush();
  assert.deepEqual(store.getSnapshot().jobs.map((v) => v.job.id), [2, 1]);
  assert.equal(store.getSnapshot().jobs[0]?.job.usage.cpuUsec, 5);
  assert.equal(store.getSnapshot().endpoint, 'wss://127.0.0.1:1');
  link.stop();
});

test('link: a dropped connection is shown, retried with backoff, and everything re-subscribed', async () => {
  const store = new TopStore({ notifyIntervalMs: 0 });
  const conns: FakeConnection[] = [];
  let failNext = 0;
  const link = new Link({
    connect: async () => {
      if (failNext > 0) {
        failNext--;
        throw new JobctlError('UNAVAILABLE', 'no daemon is listening');
      }
      const c = new FakeConnection('admin', () => [fakeJob(conns.length)]);
      conns.push(c);
      return c as unknown as RpcConnection;
    },
    store,
    backoff: () => 20,
  });
  link.start();
  await until('live', () => store.getSnapshot().link.kind === 'live');
  let connected = false;
  void link.logs.whenConnected().then(() => (connected = true));
  await until('whenConnected', () => connected);
  failNext = 2;
  conns[0]?.drop();
  await until('the loss shown', () => store.getSnapshot().link.kind === 'lost');
  const lost = store.getSnapshot().link;
  assert.ok(lost.kind === 'lost' && /closed/.test(lost.error));
  await assert.rejects(link.stopJob(1), /not connected/);
  await until('live again', () => store.getSnapshot().link.kind === 'live', 5000);
  assert.equal(conns.length, 2);
  assert.deepEqual(conns[1]?.calls.map(([m]) => m), ['session.info', 'daemon.info', 'events.subscribe', 'job.list']);
  store.flush();
  assert.deepEqual(store.getSnapshot().jobs.map((v) => v.job.id), [2]);
  assert.equal((await link.stopJob(2)).state, 'stopped');
  link.stop();
});

test('link: "a" re-subscribes and relists; late events of the old subscription are dropped', async () => {
  const store = new TopStore({ notifyIntervalMs: 0 });
  const conn = new FakeConnection('viewer', () => [fakeJob(1)]);
  const link = new Link({ connect: async () => conn as unknown as RpcConnection, store });
  link.start();
  await until('live', () => store.getSnapshot().link.kind === 'live');
  link.setAll(true);
  await until('the second subscription', () => conn.calls.filter(([m]) => m === 'events.subscribe').length === 2);
  await until('the second list', () => conn.calls.filter(([m]) => m === 'job.list').length === 2);
  assert.deepEqual(conn.calls.find(([m]) => m === 'events.unsubscribe')?.[1], { subscription: 10 });
  conn.emit('job.changed', { subscription: 10, job: fakeJob(7) });
  conn.emit('job.changed', { subscription: 11, job: fakeJob(8) });
  store.flush();
  assert.deepEqual(store.getSnapshot().jobs.map((v) => v.job.id), [8, 1]);
  assert.equal(store.getSnapshot().all, true);
  link.stop();
});

test('link: a user cannot ask for every user\u2019s jobs', async () => {
  const store = new TopStore({ notifyIntervalMs: 0 });
  const conn = new FakeConnection('user', () => []);
  const link = new Link({ connect: async () => conn as unknown as RpcConnection, store, all: true });
  link.start();
  await until('live', () => store.getSnapshot().link.kind === 'live');
  assert.deepEqual(conn.calls.find(([m]) => m === 'events.subscribe')?.[1], { all: false, usage: true });
  link.stop();
});

test('follower: starts at the tail, then shows new lines as they come, then the end', async () => {
  const logs = new FakeLogs();
  for (let i = 1; i <= 50; i++) logs.write(i % 5 === 0 ? 2 : 1, `line ${i}\n`);
  const f = new LogFollower(logs, { jobId: 1, streams: 'both', capacity: 10 });
  f.start();
  await until('the tail', () => f.buffer.lines().at(-1)?.text === 'line 50');
  assert.deepEqual(logs.opened[0], { id: 1, follow: true, tailLines: 10 });
  assert.equal(f.buffer.lines().length, 10);
  assert.equal(f.buffer.lines().at(-1)?.kind, 2);
  logs.write(1, 'line 51\nline 5');
  logs.write(1, '2\n');
  await until('new lines', () => f.buffer.lines().at(-1)?.text === 'line 52');
  assert.equal(f.state, 'following');
  logs.finish();
  await until('ended', () => f.state === 'ended');
  f.stop();
});

test('follower: a stream filter is asked of the daemon', async () => {
  const logs = new FakeLogs();
  logs.write(1, 'out\n');
  logs.write(2, 'err\n');
  const f = new LogFollower(logs, { jobId: 3, streams: 'stderr', capacity: 10 });
  f.start();
  await until('stderr', () => f.buffer.lines().length === 1);
  assert.deepEqual(texts(f.buffer.lines()), ['err']);
  assert.deepEqual(logs.opened[0]?.streams, ['stderr']);
  f.stop();
  await until('unsubscribed', () => logs.openCount === 0);
});

test('follower: over its byte budget it pauses intake, and when it stays behind it skips to the newest lines', async () => {
  const logs = new FakeLogs();
  const chunk = Buffer.from('x'.repeat(1023) + '\n');
  for (let i = 0; i < 5000; i++) logs.write(1, chunk); // a 5 MB backlog
  // Replayed from the start (not the tail) to make a backlog, with 100 KiB/s of budget.
  const f = new LogFollower(
    { open: (p, s) => logs.open({ ...p, tailLines: undefined, afterSeq: 0 }, s), whenConnected: () => logs.whenConnected() },
    { jobId: 1, streams: 'both', capacity: 20, budgetBytesPerSec: 100 * 1024, skipAfterMs: 300 },
  );
  const started = performance.now();
  f.start();
  await until('a skip', () => f.skips > 0, 5000);
  const elapsed = performance.now() - started;
  // Paced: about 10 KiB per 100 ms window until the skip after 300 ms — far from the 5 MB backlog.
  assert.ok(logs.delivered < 200 * 1024, `delivered ${logs.delivered}`);
  assert.ok(elapsed >= 250, `skipped after ${elapsed} ms`);
  await until('the skip note', () => f.buffer.lines().some((l) => l.kind === 0 && /skipped ahead/.test(l.text)));
  // The second subscription (the real tail) starts at the newest lines.
  await until('resubscribed', () => logs.opened.length === 2);
  f.stop();
});

test('follower: resumes after the last chunk seen when the connection comes back', async () => {
  const logs = new FakeLogs();
  logs.write(1, 'one\n');
  const f = new LogFollower(logs, { jobId: 1, streams: 'both', capacity: 10 });
  f.start();
  await until('one', () => f.buffer.lines().length === 1);
  logs.drop();
  await until('waiting', () => f.state === 'waiting');
  logs.write(1, 'two\n');
  logs.restore();
  await until('two', () => f.buffer.lines().length === 2);
  assert.deepEqual(texts(f.buffer.lines()), ['one', 'two']);
  assert.deepEqual(logs.opened[1], { id: 1, follow: true, afterSeq: 1 });
  f.stop();
});

/** A job's output of `n` numbered lines in chunks of `perChunk` lines, stdout and stderr mixed. */
function numbered(n: number, perChunk: number, logs = new FakeLogs()): FakeLogs {
  for (let i = 1; i <= n; i += perChunk) {
    const stream = Math.floor(i / perChunk) % 3 === 2 ? 2 : 1;
    let text = '';
    for (let j = i; j < i + perChunk && j <= n; j++) text += `line ${j}\n`;
    logs.write(stream, text);
  }
  return logs;
}

const numberOf = (l: LogLine) => Number(l.text.replace('line ', ''));

async function settled(p: LogPager): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await until('the pager to settle', () => !p.view().loading);
}

for (const perChunk of [1, 7, 500]) {
  test(`pager: pages back and forth through the whole output exactly (${perChunk} lines a chunk)`, async () => {
    const logs = numbered(2000, perChunk);
    // Start as the follower would leave it: the last 10 lines.
    const tail: LogLine[] = [];
    const f = new LogFollower(logs, { jobId: 1, streams: 'both', capacity: 10 });
    f.start();
    await until('tail', () => f.buffer.lines().at(-1)?.text === 'line 2000');
    tail.push(...f.buffer.lines());
    f.stop();
    const p = new LogPager(logs, { jobId: 1, streams: 'both', height: 10, maxLines: 60 }, tail);
    assert.deepEqual(p.view().lines.map(numberOf), Array.from({ length: 10 }, (_, i) => 1991 + i));
    const seen: number[] = [];
    for (let page = 0; page < 250 && !p.view().atTop; page++) {
      p.scroll(-10);
      await settled(p);
      seen.push(...p.view().lines.map(numberOf));
      const first = numberOf(p.view().lines[0] as LogLine);
      assert.deepEqual(p.view().lines.map(numberOf), Array.from({ length: 10 }, (_, i) => first + i), `page ${page}`);
    }
    assert.ok(p.view().atTop);
    assert.equal(p.view().lines[0]?.text, 'line 1');
    // And all the way down again, page by page, with nothing lost or repeated.
    for (let page = 0; page < 250 && !p.view().atBottom; page++) {
      const before = numberOf(p.view().lines[0] as LogLine);
      p.pageDown();
      await settled(p);
      const after = numberOf(p.view().lines[0] as LogLine);
      assert.ok(after === before + 9 || p.view().atBottom, `page down from ${before} went to ${after}`);
    }
    assert.equal(p.view().lines.at(-1)?.text, 'line 2000');
    p.close();
  });
}

test('pager: Home reads the first lines; a window never exceeds its bound', async () => {
  const logs = numbered(10_000, 1000);
  const p = new LogPager(logs, { jobId: 1, streams: 'both', height: 10, maxLines: 50 }, []);
  p.home();
  await settled(p);
  assert.deepEqual(texts(p.view().lines.slice(0, 2)), ['line 1', 'line 2']);
  assert.ok(p.view().atTop);
  for (let i = 0; i < 20; i++) p.pageDown();
  await settled(p);
  assert.equal(numberOf(p.view().lines[0] as LogLine), 1 + 20 * 9);
  assert.ok((p as unknown as { window: LogLine[] }).window.length <= 50);
  p.close();
});

test('pager: a line still being written when scrolling began is completed, not repeated', async () => {
  const logs = new FakeLogs();
  logs.write(1, 'a\nb\npart');
  const p = new LogPager(logs, { jobId: 1, streams: 'both', height: 5 }, [
    { kind: 1, text: 'a', seq: 1, offset: 0 },
    { kind: 1, text: 'b', seq: 1, offset: 2 },
    { kind: 1, text: 'part', seq: 1, offset: 4 },
  ]);
  logs.write(1, 'ial\nc\n');
  p.scroll(3);
  await settled(p);
  assert.deepEqual(texts(p.view().lines), ['a', 'b', 'partial', 'c']);
  p.close();
});

test('backoff: doubles from 250 ms to at most 5 s, with ±20 % jitter', async () => {
  const { backoffMs } = await import('../../src/tui/live/backoff.ts');
  assert.deepEqual([1, 2, 3, 4, 5, 6, 10].map((n) => backoffMs(n, () => 0.5)), [250, 500, 1000, 2000, 4000, 5000, 5000]);
  assert.equal(backoffMs(1, () => 0), 200);
  assert.equal(backoffMs(10, () => 1), 6000);
});
