import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LOG_FRAME_HEADER_BYTES,
  MAX_LOG_FRAME_DATA,
  decodeLogFrame,
  encodeLogFrame,
  type LogFrame,
} from '../../src/rpc/log-frame.ts';
import { MAX_FRAME_BYTES } from '../../src/rpc/protocol.ts';
import { throwsCoded } from './assert-error.ts';

test('header layout, byte by byte', () => {
  const frame: LogFrame = { subscription: 0x01020304, stream: 2, seq: 0x0506070809, timeMs: 1_700_000_000_123, data: new Uint8Array([0xde, 0xad]) };
  const bytes = encodeLogFrame(frame);
  assert.equal(bytes.length, LOG_FRAME_HEADER_BYTES + 2);
  assert.equal(
    Buffer.from(bytes).toString('hex'),
    '4a' + '01' + '02' + '00' + '01020304' + '0000000506070809' + (1_700_000_000_123).toString(16).padStart(16, '0') + 'dead',
  );
  assert.deepEqual(decodeLogFrame(bytes), frame);
});

test('round trips at the boundaries', () => {
  const cases: LogFrame[] = [
    { subscription: 0, stream: 1, seq: 0, timeMs: 0, data: new Uint8Array() },
    { subscription: 0xffffffff, stream: 2, seq: Number.MAX_SAFE_INTEGER, timeMs: Number.MAX_SAFE_INTEGER, data: new Uint8Array([0]) },
    { subscription: 1, stream: 1, seq: 2 ** 53 - 2, timeMs: 2 ** 32, data: new Uint8Array([0xff, 0x00, 0x0a]) },
    { subscription: 1, stream: 1, seq: 2 ** 32 - 1, timeMs: 2 ** 32 + 1, data: new Uint8Array(MAX_LOG_FRAME_DATA).fill(7) },
  ];
  for (const frame of cases) {
    const bytes = encodeLogFrame(frame);
    assert.ok(bytes.length <= MAX_FRAME_BYTES);
    assert.deepEqual(decodeLogFrame(bytes), frame);
  }
});

test('decoding returns a view of the data, also from an offset inside a larger buffer', () => {
  const bytes = encodeLogFrame({ subscription: 9, stream: 1, seq: 3, timeMs: 4, data: new TextEncoder().encode('hello\n') });
  const big = Buffer.alloc(bytes.length + 10);
  big.set(bytes, 5);
  const view = big.subarray(5, 5 + bytes.length);
  const frame = decodeLogFrame(view);
  assert.equal(Buffer.from(frame.data).toString(), 'hello\n');
  assert.equal(frame.data.buffer, big.buffer, 'no copy');
  assert.equal(frame.subscription, 9);
});

test('malformed log frames are PROTOCOL errors naming the fault', () => {
  const good = encodeLogFrame({ subscription: 1, stream: 1, seq: 1, timeMs: 1, data: new Uint8Array([1]) });
  const patch = (at: number, value: number) => {
    const b = new Uint8Array(good);
    b[at] = value;
    return b;
  };
  throwsCoded(() => decodeLogFrame(good.subarray(0, 23)), 'PROTOCOL', /log frame of 23 bytes is shorter than its 24-byte header/);
  throwsCoded(() => decodeLogFrame(patch(0, 0x7b)), 'PROTOCOL', /starts with byte 0x7b, expected 0x4a/);
  throwsCoded(() => decodeLogFrame(patch(1, 2)), 'PROTOCOL', /version 2 is not served/);
  throwsCoded(() => decodeLogFrame(patch(2, 3)), 'PROTOCOL', /stream must be 1 \(stdout\) or 2 \(stderr\), got 3/);
  throwsCoded(() => decodeLogFrame(patch(3, 1)), 'PROTOCOL', /flags must be 0/);
  throwsCoded(() => decodeLogFrame(patch(9, 0x20)), 'PROTOCOL', /seq is over 2\^53-1/);
  throwsCoded(() => decodeLogFrame(patch(16, 0xff)), 'PROTOCOL', /time is over 2\^53-1/);
  throwsCoded(() => decodeLogFrame(new Uint8Array(MAX_FRAME_BYTES + 1)), 'TOO_LARGE');
});

test('encoding refuses values the header cannot carry', () => {
  const base: LogFrame = { subscription: 1, stream: 1, seq: 1, timeMs: 1, data: new Uint8Array() };
  throwsCoded(() => encodeLogFrame({ ...base, seq: 2 ** 53 }), 'INVALID_ARGUMENT', /seq must be an integer from 0 to 2\^53-1/);
  throwsCoded(() => encodeLogFrame({ ...base, seq: -1 }), 'INVALID_ARGUMENT', /seq/);
  throwsCoded(() => encodeLogFrame({ ...base, timeMs: 1.5 }), 'INVALID_ARGUMENT', /timeMs/);
  throwsCoded(() => encodeLogFrame({ ...base, subscription: 2 ** 32 }), 'INVALID_ARGUMENT', /subscription/);
  throwsCoded(() => encodeLogFrame({ ...base, stream: 3 as 1 }), 'INVALID_ARGUMENT', /stream must be 1 or 2/);
  throwsCoded(() => encodeLogFrame({ ...base, data: new Uint8Array(MAX_LOG_FRAME_DATA + 1) }), 'INVALID_ARGUMENT', /split the chunk/);
});
