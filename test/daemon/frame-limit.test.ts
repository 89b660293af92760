// A request over the frame limit gets a coded TOO_LARGE answer with its id (when the frame starts like
// a request); one so big that the daemon will not read it closes the connection with 1009 and a
// reason that names TOO_LARGE. Either way other connections are served, and the first keeps working.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { HARD_FRAME_BYTES, leadingRequestId, OVERSIZE_CLOSE_REASON } from '../../src/daemon/frame-limit.ts';
import type { IdentityPems } from '../../src/pki/index.ts';
import { MAX_FRAME_BYTES } from '../../src/rpc/protocol.ts';
import { startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { pollUntil } from '../support/poll.ts';
import { adminIdentity, openRaw, stopDaemon, type RawClient } from '../reliability/helpers.ts';

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

/** A request frame of exactly `bytes` bytes (padded inside params). */
function requestOf(id: number, bytes: number): Buffer {
  const head = `{"t":"req","id":${id},"method":"session.info","params":{"pad":"`;
  const tail = '"}}';
  return Buffer.from(head + 'x'.repeat(bytes - head.length - tail.length) + tail);
}

async function works(raw: RawClient, id: number): Promise<void> {
  raw.send(JSON.stringify({ t: 'req', id, method: 'session.info', params: {} }));
  assert.ok('result' in (await raw.response(id)), 'the connection still answers');
}

describe('oversized frames', () => {
  test('a request over the limit is answered with TOO_LARGE and its own id; the connection goes on', async (t) => {
    const raw = await openRaw(d.endpoint, admin);
    t.after(() => raw.close());
    for (const [id, size] of [
      [7, MAX_FRAME_BYTES + 1],
      [8, MAX_FRAME_BYTES + 100_000],
      [9, HARD_FRAME_BYTES],
    ] as const) {
      raw.send(requestOf(id, size));
      const res = await raw.response(id);
      const error = res.error as { code: string; message: string };
      assert.equal(error.code, 'TOO_LARGE', `a frame of ${size} bytes`);
      assert.equal(error.message, `frame of ${size} bytes is over the ${MAX_FRAME_BYTES}-byte limit`);
      await works(raw, id + 100);
    }
    // No readable id (not a request's start): answered with id 0, still coded.
    const seen = raw.messages.length;
    raw.send(Buffer.alloc(MAX_FRAME_BYTES + 10, 0x20));
    const answer = await pollUntil('the answer to a padded frame', () => raw.messages.slice(seen).find((m) => !m.binary && m.json?.t === 'res'));
    assert.ok(!answer.binary);
    assert.equal(answer.json?.id, 0);
    assert.equal((answer.json?.error as { code: string }).code, 'TOO_LARGE');
    await works(raw, 200);
  });

  test('a frame over the hard limit closes with 1009 and a reason that names TOO_LARGE; others go on', async (t) => {
    const raw = await openRaw(d.endpoint, admin);
    t.after(() => raw.close());
    raw.send(requestOf(1, HARD_FRAME_BYTES + 1));
    const closed = await raw.closed;
    assert.equal(closed.code, 1009);
    assert.equal(closed.reason, OVERSIZE_CLOSE_REASON);
    assert.match(closed.reason, /^TOO_LARGE: /);
    const other = await openRaw(d.endpoint, admin);
    t.after(() => other.close());
    await works(other, 1);
  });
});

test('leadingRequestId reads the id of a request frame from its first bytes only', () => {
  const cases: Array<[string, number]> = [
    ['{"t":"req","id":42,"method":"x"', 42],
    ['  {"id":3}', 3],
    ['{"method":"job.start","t":"req","id":12345,', 12345],
    ['{"t":"req","id":0,', 0],
    ['{"t":"req","id":-1,', 0],
    ['{"t":"req","id":1.5,', 0],
    ['{"t":"req","id":99999999999999999,', 0],
    ['{"params":{},"id":4,', 0],
    [`{"t":"${'x'.repeat(300)}","id":4,`, 0],
    ['garbage', 0],
    ['', 0],
  ];
  for (const [text, id] of cases) assert.equal(leadingRequestId(Buffer.from(text)), id, text.slice(0, 60));
});
