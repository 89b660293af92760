// Log subscriptions are paced by their socket's drain, all of a connection's together: a client that
// follows many jobs and reads at its own pace is never cut off as "too slow" (the cut-off at 16 MiB
// unread is for a client that does not read).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { IdentityPems } from '../../src/pki/index.ts';
import { decodeLogFrame } from '../../src/rpc/log-frame.ts';
import { startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { pollUntil } from '../support/poll.ts';
import { adminIdentity, connect, openRaw, spec, stopDaemon } from '../reliability/helpers.ts';

let d: TestDaemon;
let admin: IdentityPems;

before(async () => {
  d = await startTestDaemon();
  admin = adminIdentity(d);
});
after(async () => {
  await stopDaemon(d);
  rmSync(d.home, { recursive: true, force: true });
});

test('a client with 48 log subscriptions that pauses reading for a moment (its sink busy) is not cut off, and gets every byte', async (t) => {
  const c = await connect(t, d.endpoint, admin);
  const size = 2 * 1024 * 1024;
  const job = await c.call('job.start', spec(['head', '-c', String(size), '/dev/urandom']));
  assert.equal((await c.call('job.wait', { id: job.id })).exitCode, 0);

  const raw = await openRaw(d.endpoint, admin);
  t.after(() => raw.close());
  const socket = (raw.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  // The client's sink is busy: it reads nothing for a moment, as the CLI does while stdout blocks.
  socket.pause();
  const subs = 48;
  for (let id = 1; id <= subs; id++) raw.send(JSON.stringify({ t: 'req', id, method: 'logs.subscribe', params: { id: job.id, follow: false } }));
  // Requests answered while the replays are queued: an answer is where the daemon checks for a
  // client too slow to read. Sent over a while, so that the daemon has queued what it will.
  for (let id = 1001; id <= 1010; id++) {
    raw.send(JSON.stringify({ t: 'req', id, method: 'session.info', params: {} }));
    await new Promise((r) => setTimeout(r, 100));
  }
  socket.resume();

  const ended = () => raw.messages.filter((m) => !m.binary && m.json?.t === 'evt' && m.json.event === 'logs.end');
  const outcome = await Promise.race([
    pollUntil('every replay to end', () => ended().length === subs, 60_000).then(() => 'ended'),
    raw.closed.then((cl) => `closed ${cl.code} ${cl.reason}`),
  ]);
  assert.equal(outcome, 'ended', 'the daemon cut the client off');
  for (const m of ended()) assert.equal(!m.binary && (m.json?.params as { reason?: string }).reason, 'finished');
  for (let id = 1001; id <= 1010; id++) assert.ok('result' in (await raw.response(id)), `session.info ${id} answered`);
  // Every subscription received the whole output.
  const bytes = new Map<number, number>();
  for (const m of raw.messages) {
    if (!m.binary) continue;
    const frame = decodeLogFrame(m.data);
    bytes.set(frame.subscription, (bytes.get(frame.subscription) ?? 0) + frame.data.byteLength);
  }
  assert.equal(bytes.size, subs);
  for (const [sub, n] of bytes) assert.equal(n, size, `subscription ${sub}`);
});
