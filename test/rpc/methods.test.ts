import { test } from 'node:test';
import assert from 'node:assert/strict';
import { METHODS, METHOD_NAMES, getMethod, isMethodName, validateParams, type MethodName, type ParamsOf, type ResultOf } from '../../src/rpc/methods.ts';
import { checkJobAccess, checkRole, seesAllJobs } from '../../src/rpc/access.ts';
import type { JobInfo, JobSpec } from '../../src/rpc/model.ts';
import { throwsCoded } from './assert-error.ts';

// Compile-time checks: the table's types are what callers expect (a wrong type fails `tsc`).
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const typeChecks: [
  Equals<ResultOf<'job.get'>, JobInfo>,
  Equals<ResultOf<'job.list'>, JobInfo[]>,
  Equals<ParamsOf<'job.get'>, { id: number }>,
  Equals<ParamsOf<'job.stop'>, { id: number; graceMs?: number }>,
  Equals<ParamsOf<'certs.issue'>, { user: string; role: 'admin' | 'user' | 'viewer'; days?: number }>,
] = [true, true, true, true, true];
const specIsJobSpec: JobSpec = {} as ParamsOf<'job.start'>;
void typeChecks;
void specIsJobSpec;

const spec = { argv: ['make', 'test'], cwd: '/home/u/src', env: { PATH: '/usr/bin' }, limits: { cpu: 0.5, memory: 256 * 2 ** 20 } };
const MiB = 2 ** 20;

test('every method is named noun.verb and keyed by its own name', () => {
  for (const name of METHOD_NAMES) {
    assert.match(name, /^[a-z]+\.[a-z]+$/);
    assert.equal(METHODS[name].name, name);
  }
  assert.equal(METHOD_NAMES.length, 15);
});

test('getMethod: known, unknown, and inherited names', () => {
  assert.equal(getMethod('job.get').name, 'job.get');
  throwsCoded(() => getMethod('job.explode'), 'PROTOCOL', /unknown method "job\.explode"; this daemon serves session\.info, /);
  for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
    assert.equal(isMethodName(name), false, name);
    throwsCoded(() => getMethod(name), 'PROTOCOL', /unknown method/);
  }
});

// [method, params, expected error pattern or null for accepted]
const cases: Array<[MethodName, unknown, RegExp | null]> = [
  ['session.info', {}, null],
  ['session.info', { x: 1 }, /^invalid params\.x 1: unknown field; params accepts no fields$/],
  ['session.info', null, /^invalid params null: an object, got null$/],
  ['job.start', spec, null],
  ['job.start', { ...spec, name: 'build' }, null],
  ['job.start', { ...spec, name: null }, null],
  ['job.start', { ...spec, limits: {} }, null],
  ['job.start', { ...spec, limits: { cpu: 0.01, memory: MiB, pids: 1, ioRead: 1024, ioWrite: 100 * 2 ** 30 } }, null],
  ['job.start', { ...spec, limits: { memory: 2 ** 50, pids: 4_194_304, cpu: 1024 } }, null],
  ['job.start', { ...spec, argv: [] }, /^invalid params\.argv \[\]: a non-empty array$/],
  ['job.start', { ...spec, argv: [''] }, /^invalid params\.argv\[0\] "": the command to run/],
  ['job.start', { ...spec, argv: ['ls', 'a\0b'] }, /^invalid params\.argv\[1\] .*without NUL/],
  ['job.start', { ...spec, argv: 'make test' }, /^invalid params\.argv "make test": an array, got a string$/],
  ['job.start', { ...spec, argv: ['x', 'a'.repeat(128 * 1024 + 1)] }, /params\.argv\[1\] .*at most 131072 bytes as UTF-8/],
  ['job.start', { ...spec, argv: Array.from({ length: 9 }, () => 'a'.repeat(120 * 1024)) }, /params\.argv .*at most 524288 bytes in all, as JSON/],
  ['job.start', { ...spec, argv: Array.from({ length: 4097 }, () => 'a') }, /params\.argv .*at most 4096 items/],
  ['job.start', { ...spec, cwd: 'src' }, /^invalid params\.cwd "src": an absolute path/],
  ['job.start', { ...spec, cwd: '/a\0' }, /params\.cwd .*without NUL/],
  ['job.start', { argv: ['x'], env: {}, limits: {} }, /^invalid params\.cwd undefined: a value \(the field is required\)$/],
  ['job.start', { ...spec, env: { 'A=B': 'c' } }, /^invalid params\.env key "A=B"/],
  ['job.start', { ...spec, env: { A: 'x\0' } }, /^invalid params\.env\.A .*without NUL/],
  ['job.start', { ...spec, env: { A: 5 } }, /^invalid params\.env\.A 5: a string/],
  ['job.start', { ...spec, env: ['A=B'] }, /^invalid params\.env .*an object, got an array/],
  ['job.start', { ...spec, env: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`V${i}`, 'a'.repeat(120 * 1024)])) }, /params\.env .*at most 393216 bytes in all/],
  ['job.start', { ...spec, limits: { cpu: 0 } }, /^invalid params\.limits\.cpu 0: a number from 0\.01 to 1024 cores$/],
  ['job.start', { ...spec, limits: { cpu: 1e999 } }, /params\.limits\.cpu Infinity/],
  ['job.start', { ...spec, limits: { memory: MiB - 1 } }, /^invalid params\.limits\.memory 1048575: an integer from 1048576 to 1125899906842624 bytes/],
  ['job.start', { ...spec, limits: { memory: 2 ** 50 + 1 } }, /params\.limits\.memory/],
  ['job.start', { ...spec, limits: { memory: '256M' } }, /params\.limits\.memory "256M": .*got a string/],
  ['job.start', { ...spec, limits: { pids: 0 } }, /params\.limits\.pids 0/],
  ['job.start', { ...spec, limits: { pids: 4_194_305 } }, /params\.limits\.pids/],
  ['job.start', { ...spec, limits: { ioRead: 1023 } }, /params\.limits\.ioRead 1023: .*1 KiB\/s to 100 GiB\/s/],
  ['job.start', { ...spec, limits: { ioWrite: 100 * 2 ** 30 + 1 } }, /params\.limits\.ioWrite/],
  ['job.start', { ...spec, limits: { swap: 1 } }, /^invalid params\.limits\.swap 1: unknown field; params\.limits accepts the fields cpu, memory, pids, ioRead, ioWrite$/],
  ['job.start', { ...spec, name: '' }, /params\.name "": a non-empty string/],
  ['job.start', { ...spec, name: 'x'.repeat(129) }, /params\.name .*at most 128 characters \(got 129\)/],
  ['job.start', { ...spec, name: 'evil\u001b[2J' }, /params\.name .*without control characters/],
  ['job.list', {}, null],
  ['job.list', { all: true, limit: 50, states: ['running', 'lost'], beforeId: 100 }, null],
  ['job.list', { states: ['running', 'running'] }, /params\.states\[1\] "running": each item at most once/],
  ['job.list', { states: ['sleeping'] }, /params\.states\[0\] "sleeping": one of running, exited, stopped, failed, lost/],
  ['job.list', { limit: 0 }, /params\.limit 0: an integer from 1 to 10000/],
  ['job.get', { id: 7 }, null],
  ['job.get', { id: 0 }, /^invalid params\.id 0: an integer from 1 to 9007199254740991$/],
  ['job.get', { id: '7' }, /params\.id "7"/],
  ['job.get', { id: 2 ** 53 }, /params\.id/],
  ['job.get', {}, /params\.id undefined: a value/],
  ['job.stop', { id: 1, graceMs: 0 }, null],
  ['job.stop', { id: 1, graceMs: 3_600_001 }, /params\.graceMs 3600001: an integer from 0 to 3600000 ms/],
  ['job.wait', { id: 1 }, null],
  ['logs.subscribe', { id: 1, follow: true }, null],
  ['logs.subscribe', { id: 1, follow: false, afterSeq: 0, streams: ['stderr'] }, null],
  ['logs.subscribe', { id: 1, follow: false, tailLines: 10, streams: ['stdout', 'stderr'] }, null],
  ['logs.subscribe', { id: 1 }, /params\.follow undefined: a value/],
  ['logs.subscribe', { id: 1, follow: true, streams: [] }, /params\.streams \[\]: a non-empty array/],
  ['logs.subscribe', { id: 1, follow: true, streams: ['stdin'] }, /params\.streams\[0\] "stdin": one of stdout, stderr/],
  ['logs.subscribe', { id: 1, follow: true, tailLines: 0 }, null],
  ['logs.subscribe', { id: 1, follow: true, tailLines: 1_000_001 }, /params\.tailLines 1000001: an integer from 0 to 1000000/],
  ['logs.subscribe', { id: 1, follow: true, tailLines: 5, afterSeq: 9 }, /^invalid params .*: at most one of afterSeq, tailLines \(got afterSeq and tailLines\)$/],
  ['logs.unsubscribe', { subscription: 3 }, null],
  ['logs.unsubscribe', { subscription: 2 ** 32 }, /params\.subscription 4294967296: an integer from 1 to 4294967295/],
  ['events.subscribe', {}, null],
  ['events.subscribe', { all: true, usage: true }, null],
  ['events.unsubscribe', { subscription: 1 }, null],
  ['certs.issue', { user: 'alice', role: 'user' }, null],
  ['certs.issue', { user: 'a.b_c@d-e', role: 'viewer', days: 3650 }, null],
  ['certs.issue', { user: '-rf', role: 'user' }, /params\.user "-rf": a user name: 1-64 characters/],
  ['certs.issue', { user: 'a b', role: 'user' }, /params\.user "a b"/],
  ['certs.issue', { user: 'x'.repeat(65), role: 'user' }, /params\.user/],
  ['certs.issue', { user: 'alice', role: 'root' }, /params\.role "root": one of admin, user, viewer/],
  ['certs.issue', { user: 'alice', role: 'user', days: 0 }, /params\.days 0: an integer from 1 to 3650 days/],
  ['certs.list', {}, null],
  ['certs.revoke', { user: 'alice' }, null],
  ['certs.revoke', { serial: '0A:BC' }, null],
  ['certs.revoke', {}, /^invalid params \{\}: exactly one of user .* or serial/],
  ['certs.revoke', { user: 'alice', serial: 'ab' }, /exactly one of/],
  ['certs.revoke', { serial: 'xyz' }, /params\.serial "xyz": a certificate serial/],
  ['audit.list', { limit: 100, beforeId: 5 }, null],
  ['daemon.info', {}, null],
];

test('parameter validation: accept/reject table with messages', () => {
  for (const [name, params, expected] of cases) {
    const label = `${name} ${JSON.stringify(params)?.slice(0, 120)}`;
    if (expected === null) assert.doesNotThrow(() => validateParams(name, params), label);
    else throwsCoded(() => validateParams(name, params), 'INVALID_ARGUMENT', expected);
  }
});

test('validation returns a fresh, normalized object', () => {
  const input = { ...spec, name: 'n' };
  const out = validateParams('job.start', input);
  assert.notEqual(out, input);
  assert.deepEqual(out, input);
  assert.deepEqual(validateParams('certs.revoke', { serial: '0x00AB:CD' }), { serial: 'abcd' });
});

test('access: roles and ownership', () => {
  const admin = { user: 'root', role: 'admin' } as const;
  const alice = { user: 'alice', role: 'user' } as const;
  const viewer = { user: 'eve', role: 'viewer' } as const;
  const bobsJob = { id: 7, owner: 'bob' };
  const alicesJob = { id: 8, owner: 'alice' };

  checkJobAccess(METHODS['job.stop'], admin, bobsJob);
  checkJobAccess(METHODS['job.stop'], alice, alicesJob);
  throwsCoded(() => checkJobAccess(METHODS['job.stop'], alice, bobsJob), 'PERMISSION_DENIED', /job 7 belongs to another user; alice \(role user\) reaches only its own jobs/);
  throwsCoded(() => checkJobAccess(METHODS['job.stop'], viewer, bobsJob), 'PERMISSION_DENIED', /eve \(role viewer\) may not call job\.stop: it needs role admin or user/);
  checkJobAccess(METHODS['job.get'], viewer, bobsJob);
  throwsCoded(() => checkJobAccess(METHODS['logs.subscribe'], alice, bobsJob), 'PERMISSION_DENIED', /another user/);
  throwsCoded(() => checkRole(METHODS['job.start'], viewer), 'PERMISSION_DENIED', /job\.start/);
  checkRole(METHODS['job.start'], alice);
  for (const m of ['certs.issue', 'certs.list', 'certs.revoke', 'audit.list'] as const) {
    checkRole(METHODS[m], admin);
    throwsCoded(() => checkRole(METHODS[m], alice), 'PERMISSION_DENIED', /needs role admin/);
    throwsCoded(() => checkRole(METHODS[m], viewer), 'PERMISSION_DENIED');
  }
  assert.equal(seesAllJobs(METHODS['job.list'], viewer), true);
  assert.equal(seesAllJobs(METHODS['job.list'], admin), true);
  assert.equal(seesAllJobs(METHODS['job.list'], alice), false);
});

test('audited methods are exactly the state-changing ones', () => {
  const audited = METHOD_NAMES.filter((m) => METHODS[m].audited);
  assert.deepEqual(audited.sort(), ['certs.issue', 'certs.revoke', 'job.start', 'job.stop']);
  assert.equal(METHODS['job.wait'].blocking, true);
});

test('logs.subscribe params keep their types', () => {
  const p: ParamsOf<'logs.subscribe'> = validateParams('logs.subscribe', { id: 1, follow: true, streams: ['stdout'] });
  const check: [Equals<typeof p, { id: number; follow: boolean; afterSeq?: number; tailLines?: number; streams?: Array<'stdout' | 'stderr'> }>] = [true];
  void check;
  assert.deepEqual(p, { id: 1, follow: true, streams: ['stdout'] });
});
