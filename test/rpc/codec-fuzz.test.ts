// Randomized robustness: decodeFrame, decodeLogFrame and method validation throw nothing but
// JobctlError, whatever the input. The generator is seeded, so a failure is reproducible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, encodeFrame, requestFrame } from '../../src/rpc/codec.ts';
import { JobctlError } from '../../src/rpc/errors.ts';
import { decodeLogFrame, encodeLogFrame } from '../../src/rpc/log-frame.ts';
import { METHOD_NAMES, getMethod } from '../../src/rpc/methods.ts';

/** mulberry32: small, fast, seedable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.FUZZ_SEED ?? 20240601);
const rand = rng(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;

const KEYS = ['t', 'id', 'method', 'params', 'result', 'error', 'event', 'code', 'message', 'details', '__proto__', 'constructor', 'prototype', 'argv', 'cwd', 'env', 'limits', 'name', 'cpu', 'memory', 'pids', 'ioRead', 'ioWrite', 'follow', 'states', 'streams', 'user', 'role', 'serial', 'subscription', 'graceMs', 'all'];
const STRINGS = ['', 'req', 'res', 'evt', 'job.get', 'job.start', 'toString', '/', '/tmp', 'a\0b', '\uD800', '😀', 'A=B', 'admin', 'x'.repeat(300), 'running', 'stdout'];
const NUMBERS = [0, 1, -1, 1.5, 2 ** 32, 2 ** 53, -0, 1e308, 0.01, 1048576, 4194304];

function randomValue(depth: number): unknown {
  const r = int(depth > 4 ? 5 : 8);
  switch (r) {
    case 0: return null;
    case 1: return rand() < 0.5;
    case 2: return pick(NUMBERS);
    case 3: return pick(STRINGS);
    case 4: return int(1000);
    case 5: return Array.from({ length: int(4) }, () => randomValue(depth + 1));
    default: {
      const obj: Record<string, unknown> = {};
      for (let i = int(5); i > 0; i--) Object.defineProperty(obj, pick(KEYS), { value: randomValue(depth + 1), enumerable: true, configurable: true, writable: true });
      return obj;
    }
  }
}

function validFrameText(): string {
  const m = pick(METHOD_NAMES);
  return encodeFrame(requestFrame(1 + int(100), m, { id: 1 } as never));
}

function mutate(text: string): string | Uint8Array {
  const bytes = Buffer.from(text);
  switch (int(7)) {
    case 0: { // flip random bytes
      for (let i = 1 + int(4); i > 0; i--) bytes[int(bytes.length)] = int(256);
      return new Uint8Array(bytes);
    }
    case 1: return text.slice(0, int(text.length)); // truncate
    case 2: { // splice random JSON in the middle
      const at = int(text.length);
      return text.slice(0, at) + JSON.stringify(randomValue(0)) + text.slice(at);
    }
    case 3: return text.replace(/[{}\[\]":,]/, () => pick(['{', '}', '[', ']', '"', ':', ',', '\\', '']));
    case 4: return '['.repeat(int(40)) + text + ']'.repeat(int(40)); // nesting around the depth limit
    case 5: return JSON.stringify({ t: pick(['req', 'res', 'evt']), ...(randomValue(0) as object) });
    default: return new Uint8Array(Array.from({ length: int(64) }, () => int(256)));
  }
}

function mustOnlyThrowJobctlError(fn: () => unknown, input: unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof JobctlError)) {
      assert.fail(`seed ${SEED}: threw ${String(err)} for ${String(input).slice(0, 200)}`);
    }
    assert.ok(['PROTOCOL', 'TOO_LARGE', 'INVALID_ARGUMENT'].includes(err.code), err.code);
    assert.ok(err.message.length > 0 && err.message.length < 2000, 'messages stay short');
  }
}

test(`decodeFrame + validation: 25,000 random and mutated frames throw only JobctlError (seed ${SEED})`, () => {
  let decoded = 0;
  for (let i = 0; i < 25_000; i++) {
    const input = i % 3 === 0 ? JSON.stringify(randomValue(0)) : mutate(validFrameText());
    mustOnlyThrowJobctlError(() => {
      const frame = decodeFrame(input);
      decoded++;
      if (frame.t === 'req') getMethod(frame.method).params(frame.params, 'params');
    }, input);
    for (const m of [pick(METHOD_NAMES), pick(METHOD_NAMES)]) {
      const params = randomValue(0);
      mustOnlyThrowJobctlError(() => getMethod(m).params(params, 'params'), params);
    }
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
  assert.ok(decoded > 100, `some inputs decode (${decoded})`);
});

test(`decodeLogFrame: 20,000 mutated frames throw only JobctlError (seed ${SEED})`, () => {
  const good = encodeLogFrame({ subscription: 5, stream: 1, seq: 42, timeMs: Date.now(), data: new Uint8Array([1, 2, 3]) });
  for (let i = 0; i < 20_000; i++) {
    const bytes = new Uint8Array(good.slice(0, int(good.length + 1)));
    for (let k = int(3); k > 0; k--) bytes[int(bytes.length)] = int(256);
    mustOnlyThrowJobctlError(() => decodeLogFrame(bytes), Buffer.from(bytes).toString('hex'));
  }
});
