import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeFrame,
  encodeFrame,
  errorFrame,
  eventFrame,
  frameErrorId,
  requestFrame,
  resultFrame,
  type Frame,
} from '../../src/rpc/codec.ts';
import { JobctlError, invalidArgument } from '../../src/rpc/errors.ts';
import { MAX_FRAME_BYTES } from '../../src/rpc/protocol.ts';
import { errorFromWire, errorToWire } from '../../src/rpc/wire-error.ts';
import { throwsCoded } from './assert-error.ts';

test('round trips of every frame kind, from text and from bytes', () => {
  const frames: Frame[] = [
    requestFrame(1, 'job.get', { id: 7 }),
    requestFrame(2, 'job.start', { argv: ['echo', 'é😀'], cwd: '/', env: {}, limits: { memory: 2 ** 20 } }),
    resultFrame(1, { id: 7, nested: [1, null, 'x'] }),
    resultFrame(3, undefined),
    errorFrame(4, invalidArgument('params.id', 0, 'a positive integer')),
    { t: 'res', id: 0, error: { code: 'PROTOCOL', message: 'bad' } },
    eventFrame('logs.end', { subscription: 2, reason: 'finished' }),
  ];
  for (const frame of frames) {
    const text = encodeFrame(frame);
    const expected = JSON.parse(JSON.stringify(frame)) as Frame;
    assert.deepEqual(decodeFrame(text), expected);
    assert.deepEqual(decodeFrame(Buffer.from(text)), expected);
    assert.deepEqual(decodeFrame(new TextEncoder().encode(text)), expected);
  }
  assert.deepEqual(decodeFrame(encodeFrame(resultFrame(3, undefined))), { t: 'res', id: 3, result: null });
});

test('absent params become {}; explicit params are kept for the method validator', () => {
  assert.deepEqual(decodeFrame('{"t":"req","id":1,"method":"session.info"}'), { t: 'req', id: 1, method: 'session.info', params: {} });
  assert.deepEqual(decodeFrame('{"t":"req","id":1,"method":"x","params":null}'), { t: 'req', id: 1, method: 'x', params: null });
});

// [input, code, message pattern, request id the error refers to]
const bad: Array<[string | Uint8Array, 'PROTOCOL' | 'TOO_LARGE', RegExp, number]> = [
  ['', 'PROTOCOL', /^invalid JSON: Unexpected end of JSON input$/, 0],
  ['{"t":"req",', 'PROTOCOL', /^invalid JSON: .*position 11/, 0],
  ['{"t":"req","id":1,}', 'PROTOCOL', /^invalid JSON: .*at position 18/, 0],
  ['[1,2]', 'PROTOCOL', /^a frame must be a JSON object, got an array$/, 0],
  ['null', 'PROTOCOL', /got null/, 0],
  ['"req"', 'PROTOCOL', /got a string/, 0],
  ['{}', 'PROTOCOL', /^missing field "t" \(one of "req", "res", "evt"\)$/, 0],
  ['{"t":"call"}', 'PROTOCOL', /^field "t" must be "req", "res" or "evt", got "call"$/, 0],
  ['{"t":"req","method":"job.get"}', 'PROTOCOL', /^missing field "id"$/, 0],
  ['{"t":"req","id":0,"method":"job.get"}', 'PROTOCOL', /^field "id" must be a positive integer, got 0$/, 0],
  ['{"t":"req","id":-1,"method":"job.get"}', 'PROTOCOL', /positive integer, got -1/, 0],
  ['{"t":"req","id":1.5,"method":"job.get"}', 'PROTOCOL', /positive integer, got 1\.5/, 0],
  ['{"t":"req","id":"1","method":"job.get"}', 'PROTOCOL', /positive integer, got "1"/, 0],
  ['{"t":"req","id":9007199254740992,"method":"job.get"}', 'PROTOCOL', /positive integer/, 0],
  ['{"t":"req","id":5}', 'PROTOCOL', /^missing field "method"$/, 5],
  ['{"t":"req","id":5,"method":""}', 'PROTOCOL', /^field "method" must be a name of 1-128 characters, got ""$/, 5],
  ['{"t":"req","id":5,"method":7}', 'PROTOCOL', /field "method" must be a name/, 5],
  ['{"t":"req","id":6,"method":"job.get","extra":1}', 'PROTOCOL', /^unknown field "extra" in a "req" frame \(allowed: t, id, method, params\)$/, 6],
  ['{"t":"res","id":1}', 'PROTOCOL', /exactly one of "result" or "error"/, 0],
  ['{"t":"res","id":1,"result":1,"error":{}}', 'PROTOCOL', /exactly one of/, 0],
  ['{"t":"res","id":0,"result":1}', 'PROTOCOL', /positive integer, got 0/, 0],
  ['{"t":"res","id":1,"error":"boom"}', 'PROTOCOL', /^field "error" must be an object, got a string$/, 0],
  ['{"t":"res","id":1,"error":{"message":"m"}}', 'PROTOCOL', /field "error\.code" must be a code name, got undefined/, 0],
  ['{"t":"res","id":1,"error":{"code":"X"}}', 'PROTOCOL', /field "error\.message" must be a string/, 0],
  ['{"t":"res","id":1,"error":{"code":"X","message":"m","details":[1]}}', 'PROTOCOL', /field "error\.details" must be an object, got an array/, 0],
  ['{"t":"evt","params":{}}', 'PROTOCOL', /^missing field "event"$/, 0],
  [new Uint8Array([0x7b, 0xff, 0x7d]), 'PROTOCOL', /^frame is not valid UTF-8 text$/, 0],
  ['x'.repeat(MAX_FRAME_BYTES + 1), 'TOO_LARGE', /^frame of 1048577 bytes is over the 1048576-byte limit$/, 0],
  ['€'.repeat(MAX_FRAME_BYTES / 3 + 1), 'TOO_LARGE', /frame of 1048578 bytes/, 0],
  [new Uint8Array(MAX_FRAME_BYTES + 1), 'TOO_LARGE', /frame of 1048577 bytes/, 0],
];

test('malformed frames: precise coded errors, with the request id when it was readable', () => {
  for (const [input, code, re, id] of bad) {
    const err = throwsCoded(() => decodeFrame(input), code, re);
    assert.equal(frameErrorId(err), id, typeof input === 'string' ? input.slice(0, 80) : 'bytes');
  }
});

test('a frame of exactly MAX_FRAME_BYTES is accepted', () => {
  const head = '{"t":"evt","event":"e","params":{"s":"';
  const tail = '"}}';
  const text = head + 'a'.repeat(MAX_FRAME_BYTES - head.length - tail.length) + tail;
  assert.equal(Buffer.byteLength(text), MAX_FRAME_BYTES);
  assert.equal(decodeFrame(text).t, 'evt');
});

test('deep nesting and prototype keys decode without harm', () => {
  const nest = (n: number) => `{"t":"req","id":1,"method":"x","params":${'['.repeat(n)}${']'.repeat(n)}}`;
  assert.equal(decodeFrame(nest(31)).t, 'req');
  throwsCoded(() => decodeFrame(nest(32)), 'PROTOCOL', /^frame nests deeper than 32 levels \(at position 71\)$/);
  const start = performance.now();
  throwsCoded(() => decodeFrame(nest(500_000)), 'PROTOCOL', /nests deeper/);
  assert.ok(performance.now() - start < 50, 'refused before parsing');
  // A client skips the pre-scan for frames of the daemon it authenticated; the daemon never does.
  const deepResult = `{"t":"res","id":1,"result":${'['.repeat(40)}${']'.repeat(40)}}`;
  throwsCoded(() => decodeFrame(deepResult), 'PROTOCOL', /nests deeper than 32/);
  assert.equal(decodeFrame(deepResult, { fromDaemon: true }).t, 'res');
  throwsCoded(() => decodeFrame('{"t":"res","id":1}', { fromDaemon: true }), 'PROTOCOL', /exactly one of "result" or "error"/);
  const brackets = '[{'.repeat(100);
  assert.equal(decodeFrame(`{"t":"evt","event":"e","params":{"s":"${brackets}\\\"${brackets}"}}`).t, 'evt', 'brackets in strings do not count');
  const evil = '{"t":"req","id":1,"method":"x","params":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}}';
  const frame = decodeFrame(evil);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(frame), Object.prototype);
  throwsCoded(() => decodeFrame('{"t":"req","id":1,"method":"x","__proto__":{}}'), 'PROTOCOL', /unknown field "__proto__"/);
});

test('encodeFrame refuses frames over the limit and values JSON cannot carry', () => {
  throwsCoded(() => encodeFrame(resultFrame(1, 'x'.repeat(MAX_FRAME_BYTES))), 'TOO_LARGE', /over the 1048576-byte limit/);
  throwsCoded(() => encodeFrame(resultFrame(1, { n: 10n })), 'INTERNAL', /cannot encode a "res" frame as JSON/);
});

test('errorToWire keeps codes and details, hides stacks; errorFromWire restores them', () => {
  const err = new JobctlError('NOT_FOUND', 'job 9 does not exist', { details: { id: 9 }, cause: new Error('secret') });
  const wire = errorToWire(err);
  assert.deepEqual(wire, { code: 'NOT_FOUND', message: 'job 9 does not exist', details: { id: 9 } });
  const back = errorFromWire(JSON.parse(JSON.stringify(wire)));
  assert.ok(back instanceof JobctlError);
  assert.equal(back.code, 'NOT_FOUND');
  assert.equal(back.message, 'job 9 does not exist');
  assert.deepEqual(back.details, { id: 9 });

  const internal = errorToWire(new TypeError('x is not a function'));
  assert.deepEqual(internal, { code: 'INTERNAL', message: 'internal error: TypeError: x is not a function' });
  assert.doesNotMatch(JSON.stringify(internal), /at .*\.ts:\d+|\n/);
  assert.equal(errorToWire('plain string').code, 'INTERNAL');
  assert.equal(errorToWire(undefined).code, 'INTERNAL');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.deepEqual(errorToWire(new JobctlError('CONFLICT', 'c', { details: cyclic })), { code: 'CONFLICT', message: 'c' });

  const future = errorFromWire({ code: 'QUOTA_EXCEEDED', message: 'over quota', details: { a: 1 } });
  assert.equal(future.code, 'INTERNAL');
  assert.equal(future.message, 'over quota');
  assert.deepEqual(future.details, { a: 1, wireCode: 'QUOTA_EXCEEDED' });
  assert.equal(errorFromWire(null).code, 'INTERNAL');
  assert.equal(errorFromWire({ code: 'NOT_FOUND', message: 'x'.repeat(10_000) }).message.length, 4096);
});
