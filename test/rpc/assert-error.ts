// Shared assertion: fn throws a JobctlError with this code whose message matches.
import assert from 'node:assert/strict';
import { JobctlError, type ErrorCode } from '../../src/rpc/errors.ts';

/** Asserts fn throws a JobctlError with code whose message matches every pattern; returns the error. */
export function throwsCoded(fn: () => unknown, code: ErrorCode, ...patterns: RegExp[]): JobctlError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof JobctlError, `expected a JobctlError ${code}, got ${caught === undefined ? 'no error' : String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const re of patterns) assert.match(caught.message, re);
  return caught;
}
