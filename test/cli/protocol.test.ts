// Garbage from an AUTHENTICATED client, on a raw WebSocket with the admin identity: malformed JSON,
// wrong types, unknown methods, binary frames, oversized frames, and more pipelined requests than
// the in-flight limit. Each gets a coded error (or, for an oversized frame, a clean close); the same
// connection goes on working where it survives, a new one always does, and a bystander connection is
// served throughout. A client of another protocol version is told which versions are served.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { Connection } from '../../src/client/connection.ts';
import type { IdentityPems } from '../../src/pki/index.ts';
import { MAX_FRAME_BYTES, MAX_IN_FLIGHT, MAX_SUBSCRIPTIONS } from '../../src/rpc/protocol.ts';
import { startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { pollUntil } from '../support/poll.ts';
import { adminIdentity, errorOf, openRaw, startJob, type RawClient } from './helpers.ts';

let d: TestDaemon;
let admin: IdentityPems;
let bystander: Connection;
let bystanderCalls = 0;
let bystanderFailures: string[] = [];
let stopBystander = false;
let bystanderLoop: Promise<void>;

before(async () => {
  d = await startTestDaemon();
  admin = adminIdentity(d);
  bystander = await Connection.open(d.endpoint, admin);
  // Another client keeps calling during every test; none of its calls may fail.
  bystanderLoop = (async () => {
    while (!stopBystander) {
      try {
        await bystander.call('session.info', {});
        bystanderCalls++;
      } catch (err) {
        bystanderFailures.push((err as Error).message);
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
});
after(async () => {
  stopBystander = true;
  await bystanderLoop;
  bystander.close();
  assert.equal(await d.stop(), 0);
});

/** Checks that the bystander is still being answered and that the daemon logged no internal failure. */
async function daemonHealthy(): Promise<void> {
  const before = bystanderCalls;
  await pollUntil('the bystander to be answered again', () => bystanderCalls > before + 1, 5000);
  assert.deepEqual(bystanderFailures, []);
  assert.doesNotMatch(d.log(), /handler failed|uncaught|unhandled/i);
}

/** A normal call on a raw client answers. */
async function works(raw: RawClient, id: number): Promise<void> {
  raw.sendJson({ t: 'req', id, method: 'session.info', params: {} });
  const res = await raw.response(id);
  assert.equal((res.result as { role?: string })?.role, 'admin', JSON.stringify(res));
}

/** A normal call on a NEW connection answers. */
async function newConnectionWorks(): Promise<void> {
  const c = await Connection.open(d.endpoint, admin);
  try {
    assert.equal((await c.call('session.info', {})).role, 'admin');
  } finally {
    c.close();
  }
}

describe('malformed frames get coded errors and the connection survives', () => {
  test('invalid JSON, wrong shapes and types, unknown methods, binary frames', async (t) => {
    const raw = await openRaw(t, d.endpoint, admin);
    // [what is sent, the id the answer carries, the code, what the message says]
    const cases: Array<[string | Buffer, number, string, RegExp]> = [
      ['{nope', 0, 'PROTOCOL', /invalid JSON/],
      ['', 0, 'PROTOCOL', /invalid JSON/],
      ['[1,2,3]', 0, 'PROTOCOL', /must be a JSON object, got an array/],
      ['"req"', 0, 'PROTOCOL', /must be a JSON object/],
      ['{"t":"req","id":"x","method":"session.info"}', 0, 'PROTOCOL', /"id" must be a positive integer/],
      ['{"t":"req","id":-4,"method":"session.info"}', 0, 'PROTOCOL', /"id" must be a positive integer/],
      ['{"t":"req","id":3,"method":42}', 3, 'PROTOCOL', /"method" must be a name/],
      ['{"t":"req","id":4,"method":"session.info","extra":true}', 4, 'PROTOCOL', /unknown field "extra"/],
      ['{"t":"res","id":5,"result":1}', 0, 'PROTOCOL', /clients send requests/],
      ['{"t":"evt","event":"job.changed","params":{}}', 0, 'PROTOCOL', /clients send requests/],
      ['{"t":"req","id":6,"method":"job.get","params":{"id":"seven"}}', 6, 'INVALID_ARGUMENT', /params\.id/],
      ['{"t":"req","id":7,"method":"job.get","params":{"id":1.5}}', 7, 'INVALID_ARGUMENT', /params\.id/],
      ['{"t":"req","id":8,"method":"job.start","params":null}', 8, 'INVALID_ARGUMENT', /params/],
      ['{"t":"req","id":9,"method":"job.start","params":{"argv":"ls","cwd":"/","env":{},"limits":{}}}', 9, 'INVALID_ARGUMENT', /params\.argv/],
      ['{"t":"req","id":10,"method":"job.start","params":{"argv":["true"],"cwd":"/","env":{},"limits":{"memory":-1}}}', 10, 'INVALID_ARGUMENT', /params\.limits\.memory/],
      ['{"t":"req","id":11,"method":"job.start","params":{"argv":["true"],"cwd":"/","env":{},"limits":{},"sudo":true}}', 11, 'INVALID_ARGUMENT', /params\.sudo.*unknown field/],
      ['{"t":"req","id":12,"method":"job.get","params":{"id":999999}}', 12, 'NOT_FOUND', /no job with id 999999/],
      ['{"t":"req","id":13,"method":"job.explode","params":{}}', 13, 'PROTOCOL', /unknown method "job\.explode"; this daemon serves session\.info/],
      ['{"t":"req","id":14,"method":"__proto__","params":{}}', 14, 'PROTOCOL', /unknown method/],
      ['{"t":"req","id":15,"method":"toString","params":{}}', 15, 'PROTOCOL', /unknown method/],
      [`{"t":"req","id":16,"method":"session.info","params":${'['.repeat(100)}${']'.repeat(100)}}`, 0, 'PROTOCOL', /nests deeper/],
      [Buffer.from('{"t":"req","id":17,"method":"session.info","params":{}}'), 0, 'PROTOCOL', /binary frames are only sent by the daemon/],
      [Buffer.from([0x4a, 1, 1, 0, 0, 0, 0, 1]), 0, 'PROTOCOL', /binary frames/],
    ];
    let checked = 0;
    for (const [frame, id, code, message] of cases) {
      const seen = raw.messages.length;
      raw.ws.send(frame, { binary: Buffer.isBuffer(frame) });
      const answer = await pollUntil(`an answer to ${String(frame).slice(0, 60)}`, () => raw.messages.slice(seen).find((m) => !m.binary && m.json.t === 'res'), 5000, 2);
      assert.ok(!answer.binary);
      assert.equal(answer.json.id, id, `id of the answer to ${String(frame).slice(0, 60)}`);
      const error = errorOf(answer.json);
      assert.equal(error.code, code, `${String(frame).slice(0, 60)}: ${error.message}`);
      assert.match(error.message, message);
      checked++;
      if (checked % 6 === 0) await works(raw, 1000 + checked);
    }
    await works(raw, 2000);
    await newConnectionWorks();
    await daemonHealthy();
  });

  test('a frame over the size limit closes that connection cleanly (1009); others go on', async (t) => {
    for (const binary of [false, true]) {
      const raw = await openRaw(t, d.endpoint, admin);
      await works(raw, 1);
      const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
      if (!binary) big.write('{"t":"req","id":2,"method":"session.info","params":{},"pad":"', 0);
      raw.ws.send(big, { binary });
      const closed = await raw.closed;
      assert.equal(closed.code, 1009, `close code for a ${binary ? 'binary' : 'text'} frame of 2 MiB`);
      await newConnectionWorks();
    }
    // Just under the limit is still a frame: answered with a coded error, not a close.
    const raw = await openRaw(t, d.endpoint, admin);
    const pad = 'x'.repeat(MAX_FRAME_BYTES - 200);
    raw.sendJson({ t: 'req', id: 3, method: 'job.get', params: { id: 1, pad } });
    assert.equal(errorOf(await raw.response(3)).code, 'INVALID_ARGUMENT');
    await works(raw, 4);
    await daemonHealthy();
  });

  test('invalid UTF-8 in a text frame closes that connection (1007); others go on', async (t) => {
    const raw = await openRaw(t, d.endpoint, admin);
    raw.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    const closed = await raw.closed;
    assert.ok(closed.code === 1007 || closed.code === 1002, `closed with ${closed.code}`);
    await newConnectionWorks();
    await daemonHealthy();
  });
});

describe('limits', () => {
  test('1000 pipelined requests: the in-flight limit answers BUSY, the rest complete, the connection goes on', async (t) => {
    const control = await Connection.open(d.endpoint, admin);
    t.after(() => control.close());
    const job = await startJob(control, ['sleep', '600']);
    const raw = await openRaw(t, d.endpoint, admin);
    // job.wait blocks until the job ends: exactly MAX_IN_FLIGHT requests stay in flight.
    for (let id = 1; id <= 1000; id++) raw.sendJson({ t: 'req', id, method: 'job.wait', params: { id: job.id } });
    const responses = () => raw.messages.filter((m) => !m.binary && m.json.t === 'res').map((m) => (m as { json: Record<string, unknown> }).json);
    await pollUntil('the requests past the limit to be refused', () => responses().length >= 1000 - MAX_IN_FLIGHT, 10_000);
    const busy = responses();
    assert.equal(busy.length, 1000 - MAX_IN_FLIGHT);
    for (const r of busy) {
      assert.equal(errorOf(r).code, 'BUSY');
      assert.match(errorOf(r).message, new RegExp(`too many requests in flight on this connection \\(limit ${MAX_IN_FLIGHT}\\)`));
    }
    assert.deepEqual(busy.map((r) => r.id).sort((a, b) => (a as number) - (b as number)), Array.from({ length: 1000 - MAX_IN_FLIGHT }, (_, i) => i + 1 + MAX_IN_FLIGHT));
    // Full: even a quick call is refused until something completes.
    raw.sendJson({ t: 'req', id: 5000, method: 'session.info', params: {} });
    assert.equal(errorOf(await raw.response(5000)).code, 'BUSY');
    await daemonHealthy();

    assert.equal((await control.call('job.stop', { id: job.id, graceMs: 0 })).state, 'stopped');
    await pollUntil('the waits in flight to complete', () => responses().length === 1001, 10_000);
    const completed = responses().filter((r) => (r.id as number) <= MAX_IN_FLIGHT);
    assert.equal(completed.length, MAX_IN_FLIGHT);
    for (const r of completed) assert.equal((r.result as { state: string }).state, 'stopped');
    await works(raw, 6000);
  });

  test('too many subscriptions on one connection: BUSY, existing ones keep working', async (t) => {
    const control = await Connection.open(d.endpoint, admin);
    t.after(() => control.close());
    const job = await control.call('job.wait', { id: (await startJob(control, ['echo', 'x'])).id });
    const raw = await openRaw(t, d.endpoint, admin);
    const n = MAX_SUBSCRIPTIONS + 10;
    // In batches below the in-flight limit: this test is about subscriptions, not pipelining.
    for (let id = 1; id <= n; id++) {
      raw.sendJson({ t: 'req', id, method: 'events.subscribe', params: {} });
      if (id % 32 === 0 || id === n) await raw.response(id);
    }
    await pollUntil('every subscribe to be answered', () => raw.messages.filter((m) => !m.binary && m.json.t === 'res').length === n);
    const answers = raw.messages.filter((m) => !m.binary && m.json.t === 'res').map((m) => (m as { json: Record<string, unknown> }).json);
    assert.equal(answers.filter((a) => a.result).length, MAX_SUBSCRIPTIONS);
    assert.equal(answers.filter((a) => a.error && errorOf(a).code === 'BUSY').length, 10);
    raw.sendJson({ t: 'req', id: n + 1, method: 'logs.subscribe', params: { id: job.id, follow: false } });
    assert.equal(errorOf(await raw.response(n + 1)).code, 'BUSY');
    raw.sendJson({ t: 'req', id: n + 2, method: 'events.unsubscribe', params: { subscription: 1 } });
    assert.deepEqual((await raw.response(n + 2)).result, {});
    raw.sendJson({ t: 'req', id: n + 3, method: 'logs.subscribe', params: { id: job.id, follow: false } });
    assert.ok((await raw.response(n + 3)).result, 'a freed slot can be used again');
    await pollUntil('the log frame', () => raw.messages.some((m) => m.binary && m.data.subarray(24).toString() === 'x\n'));
    await daemonHealthy();
  });
});

describe('protocol version', () => {
  test('a client of another version is told which versions are served', async (t) => {
    const refused = async (protocols: string | string[]) => {
      const err = await openRaw(t, d.endpoint, admin, protocols).then(
        () => assert.fail(`offering ${String(protocols)} was accepted`),
        (e: Error & { status?: number; body?: string }) => e,
      );
      assert.equal(err.status, 400);
      return JSON.parse(err.body ?? '') as { code: string; message: string };
    };
    const v99 = await refused('jobctl.v99');
    assert.equal(v99.code, 'PROTOCOL');
    assert.match(v99.message, /^the client speaks protocol v99; this daemon serves v1: upgrade the daemon/);
    const none = await refused('chat');
    assert.match(none.message, /offered no jobctl protocol version/);
    // Offering several: the newest both speak is chosen.
    const both = await openRaw(t, d.endpoint, admin, ['jobctl.v99', 'jobctl.v1']);
    assert.equal(both.ws.protocol, 'jobctl.v1');
    await works(both, 1);
    await daemonHealthy();
  });

  test('a plain HTTPS request is answered with a JSON error, not served', async () => {
    const { port } = new URL(d.endpoint);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: Number(port), path: '/', ca: admin.caPem, cert: admin.certPem, key: admin.keyPem, servername: '' }, (r) => {
        let body = '';
        r.on('data', (b: Buffer) => (body += b.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', reject);
    });
    assert.equal(res.status, 426);
    assert.match((JSON.parse(res.body) as { message: string }).message, /connect with the jobctl client/);
  });
});

