// The send window shared by a socket's log pumps: room up to the mark, waiters woken at half of it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SendWindow } from '../../src/daemon/send-window.ts';

test('room up to the mark; waiters are woken once the socket drained to half of it; abort and close wake too', async () => {
  const w = new SendWindow(100);
  const a = w.add(30);
  const b = w.add(71);
  assert.equal(w.hasRoom(), false, '101 bytes queued over a mark of 100');
  let woken = 0;
  const waiting = [w.waitForRoom(new AbortController().signal), w.waitForRoom(new AbortController().signal)].map((p) => p.then(() => woken++));
  a(); // 71 left: under the mark but over half of it — not yet
  a(); // released twice counts once
  await new Promise((r) => setImmediate(r));
  assert.equal(w.bytesQueued, 71);
  assert.equal(woken, 0);
  b(); // 0: everyone is woken
  await Promise.all(waiting);
  assert.equal(woken, 2);
  assert.equal(w.hasRoom(), true);

  w.add(200);
  const abort = new AbortController();
  const aborted = w.waitForRoom(abort.signal);
  abort.abort();
  await aborted;
  const closing = w.waitForRoom(new AbortController().signal);
  w.close();
  await closing;
  assert.equal(w.hasRoom(), true, 'a closed window never holds a pump back');
});
