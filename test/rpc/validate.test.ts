import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  array,
  boolean,
  integer,
  nullable,
  number,
  object,
  oneOf,
  optional,
  record,
  refine,
  string,
  utf8Length,
  type Infer,
} from '../../src/rpc/validate.ts';
import { throwsCoded } from './assert-error.ts';

test('string: accepts within rules, refuses with the path and the rule', () => {
  const s = string({ min: 1, max: 5 });
  assert.equal(s('abc', 'p.x'), 'abc');
  throwsCoded(() => s(5, 'p.x'), 'INVALID_ARGUMENT', /^invalid p\.x 5: a string, got a number$/);
  throwsCoded(() => s('', 'p.x'), 'INVALID_ARGUMENT', /invalid p\.x "": a non-empty string/);
  throwsCoded(() => s('abcdef', 'p.x'), 'INVALID_ARGUMENT', /at most 5 characters \(got 6\)/);
  throwsCoded(() => s('a\0b', 'p.x'), 'INVALID_ARGUMENT', /without NUL/);
  throwsCoded(() => s('\uD800', 'p.x'), 'INVALID_ARGUMENT', /lone surrogate/);
  assert.equal(string()('😀', 'p'), '😀', 'a surrogate pair is fine');
});

test('string: control characters, byte caps and patterns', () => {
  const name = string({ noControl: true });
  for (const bad of ['a\nb', 'a\tb', '\u001b[31m', '\u007f', '\u0085', '\u202e', '\u2028']) {
    throwsCoded(() => name(bad, 'n'), 'INVALID_ARGUMENT', /without control characters/);
  }
  assert.equal(name('résumé ✓', 'n'), 'résumé ✓');
  const capped = string({ maxBytes: 4 });
  assert.equal(capped('éé', 'b'), 'éé');
  throwsCoded(() => capped('ééé', 'b'), 'INVALID_ARGUMENT', /at most 4 bytes as UTF-8 \(got 6\)/);
  const abs = string({ pattern: { re: /^\//, what: 'an absolute path' } });
  throwsCoded(() => abs('rel', 'cwd'), 'INVALID_ARGUMENT', /invalid cwd "rel": an absolute path/);
});

test('utf8Length matches Buffer.byteLength, lone surrogates counted as replacement', () => {
  for (const s of ['', 'a', 'é', '€', '😀', 'a😀b€', '\uD800', 'x\uDC00y', '\uD83D']) {
    assert.equal(utf8Length(s), Buffer.byteLength(s, 'utf8'), JSON.stringify(s));
  }
});

test('numbers and integers: finite, in range', () => {
  const cpu = number(0.01, 1024, ' cores');
  assert.equal(cpu(0.5, 'c'), 0.5);
  for (const bad of [0, 0.001, 1025, NaN, Infinity, -Infinity, '1', null]) {
    throwsCoded(() => cpu(bad, 'params.limits.cpu'), 'INVALID_ARGUMENT', /^invalid params\.limits\.cpu .*a number from 0\.01 to 1024 cores/);
  }
  const pids = integer(1, 10);
  assert.equal(pids(10, 'p'), 10);
  throwsCoded(() => pids(1.5, 'p'), 'INVALID_ARGUMENT', /an integer from 1 to 10, got a number/);
  throwsCoded(() => pids(11, 'p'), 'INVALID_ARGUMENT', /an integer from 1 to 10$/);
  throwsCoded(() => pids(NaN, 'p'), 'INVALID_ARGUMENT', /got NaN/);
});

test('boolean and oneOf', () => {
  assert.equal(boolean()(false, 'b'), false);
  throwsCoded(() => boolean()('true', 'b'), 'INVALID_ARGUMENT', /true or false, got a string/);
  const role = oneOf(['admin', 'user'] as const);
  assert.equal(role('user', 'r'), 'user');
  throwsCoded(() => role('root', 'r'), 'INVALID_ARGUMENT', /invalid r "root": one of admin, user/);
});

test('array: length bounds, item paths, uniqueness', () => {
  const a = array(integer(0, 9), { min: 1, max: 3, unique: true });
  assert.deepEqual(a([1, 2], 'xs'), [1, 2]);
  throwsCoded(() => a([], 'xs'), 'INVALID_ARGUMENT', /a non-empty array/);
  throwsCoded(() => a([1, 2, 3, 4], 'xs'), 'INVALID_ARGUMENT', /at most 3 items \(got 4\)/);
  throwsCoded(() => a([1, 'x'], 'xs'), 'INVALID_ARGUMENT', /^invalid xs\[1\] "x"/);
  throwsCoded(() => a([1, 1], 'xs'), 'INVALID_ARGUMENT', /^invalid xs\[1\] 1: each item at most once/);
  throwsCoded(() => a({ length: 1 }, 'xs'), 'INVALID_ARGUMENT', /an array, got an object/);
});

test('object: required, optional, unknown keys named', () => {
  const o = object({ a: integer(0, 9), b: optional(string()) });
  const v: Infer<typeof o> = o({ a: 1 }, 'params');
  assert.deepEqual(v, { a: 1 });
  assert.deepEqual(o({ a: 1, b: 'x' }, 'params'), { a: 1, b: 'x' });
  assert.deepEqual(o({ a: 1, b: undefined }, 'params'), { a: 1 });
  throwsCoded(() => o({}, 'params'), 'INVALID_ARGUMENT', /^invalid params\.a undefined: a value \(the field is required\)$/);
  throwsCoded(() => o({ a: 1, c: 2 }, 'params'), 'INVALID_ARGUMENT', /^invalid params\.c 2: unknown field; params accepts the fields a, b$/);
  throwsCoded(() => o({ a: 1, 'we ird': 2 }, 'params'), 'INVALID_ARGUMENT', /^invalid params\["we ird"\] 2: unknown field/);
  throwsCoded(() => o([1], 'params'), 'INVALID_ARGUMENT', /an object, got an array/);
  throwsCoded(() => o(null, 'params'), 'INVALID_ARGUMENT', /an object, got null/);
  throwsCoded(() => object({})({ x: 1 }, 'params'), 'INVALID_ARGUMENT', /params accepts no fields/);
});

test('object: inherited names and __proto__ are unknown keys, never reach the prototype', () => {
  const o = object({ a: optional(integer(0, 9)) });
  for (const key of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
    const input = JSON.parse(`{"${key}": {"polluted": true}}`) as unknown;
    throwsCoded(() => o(input, 'params'), 'INVALID_ARGUMENT', /unknown field/);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('record: env-like maps with key rules and size caps; __proto__ stays a plain key', () => {
  const env = record(string({ min: 1, pattern: { re: /^[^=]*$/, what: 'a name without "="' } }), string(), {
    maxEntries: 2,
    maxTotalBytes: 16,
  });
  assert.deepEqual(env({ A: '1' }, 'params.env'), { A: '1' });
  throwsCoded(() => env({ 'A=B': '1' }, 'params.env'), 'INVALID_ARGUMENT', /^invalid params\.env key "A=B": a name without "="$/);
  throwsCoded(() => env({ '': '1' }, 'params.env'), 'INVALID_ARGUMENT', /params\.env key "": a non-empty string/);
  throwsCoded(() => env({ A: 1 }, 'params.env'), 'INVALID_ARGUMENT', /^invalid params\.env\.A 1: a string/);
  throwsCoded(() => env({ A: '1', B: '2', C: '3' }, 'params.env'), 'INVALID_ARGUMENT', /at most 2 entries/);
  throwsCoded(() => env({ A: '1234567890abcd' }, 'params.env'), 'INVALID_ARGUMENT', /at most 16 bytes in all/);
  const out = env(JSON.parse('{"__proto__": "x"}'), 'params.env');
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out), ['__proto__']);
  assert.equal(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, 'x');
});

test('nullable and refine', () => {
  const n = nullable(integer(0, 1));
  assert.equal(n(null, 'x'), null);
  const upper = refine(string(), (s) => s.toUpperCase());
  assert.equal(upper('ab', 'x'), 'AB');
});
