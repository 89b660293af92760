import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { isJobctlError } from '../../src/rpc/errors.ts';
import { openStore } from '../../src/store/index.ts';
import { tempDir, tempStore } from './helpers.ts';

const coded = (code: string, pattern: RegExp) => (err: unknown) => isJobctlError(err) && err.code === code && pattern.test(err.message);

test('the audit trail records who did what and when, newest first, and survives a restart', (t) => {
  const file = join(tempDir(t), 'jobctl.db');
  let store = openStore(file);
  const before = Date.now();
  store.audit.record({ actor: 'alice', role: 'user', action: 'job.start', target: '1', details: { argv: ['make'] } });
  store.audit.record({ actor: 'root', role: 'admin', action: 'certs.revoke', target: null });
  for (let i = 0; i < 5; i++) store.audit.record({ actor: 'bob', role: 'user', action: 'job.stop', target: String(10 + i) });
  store.close();
  store = openStore(file);
  try {
    const all = store.audit.list();
    assert.equal(all.length, 7);
    assert.deepEqual(all.map((e) => e.action).slice(-2), ['certs.revoke', 'job.start']);
    const first = all.at(-1);
    assert.ok(first);
    assert.deepEqual({ ...first, id: 0, at: 0 }, { id: 0, at: 0, actor: 'alice', role: 'user', action: 'job.start', target: '1', details: { argv: ['make'] } });
    assert.ok(first.at >= before && first.at <= Date.now());
    assert.deepEqual(all.at(-2)?.details, {});
    const page1 = store.audit.list({ limit: 3 });
    const page2 = store.audit.list({ limit: 3, beforeId: page1.at(-1)?.id });
    assert.deepEqual([...page1, ...page2].map((e) => e.id), all.slice(0, 6).map((e) => e.id));
    assert.throws(() => store.audit.list({ limit: 0 }), coded('INVALID_ARGUMENT', /invalid limit 0/));
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.throws(() => store.audit.record({ actor: 'a', role: 'user', action: 'x', target: null, details: circular }), coded('INVALID_ARGUMENT', /audit details/));
  } finally {
    store.close();
  }
});

test('certificates: recorded, listed, revoked by serial or by user, and checked', (t) => {
  const { store } = tempStore(t);
  const notAfter = Date.now() + 365 * 86_400_000;
  store.certs.recordIssued({ serial: '01a2', user: 'alice', role: 'user', notAfter, issuedBy: 'root' });
  store.certs.recordIssued({ serial: '0b33', user: 'alice', role: 'viewer', notAfter, issuedBy: 'root' });
  store.certs.recordIssued({ serial: 'C4', user: 'bob', role: 'admin', notAfter, issuedBy: 'root' });
  assert.throws(() => store.certs.recordIssued({ serial: '1A2', user: 'x', role: 'user', notAfter, issuedBy: 'root' }), coded('CONFLICT', /serial 1a2 is already recorded/));

  const list = store.certs.list();
  assert.deepEqual(list.map((c) => [c.serial, c.user, c.role, c.revokedAt]), [
    ['1a2', 'alice', 'user', null],
    ['b33', 'alice', 'viewer', null],
    ['c4', 'bob', 'admin', null],
  ]);
  assert.equal(list[0]?.issuedBy, 'root');
  assert.equal(list[0]?.notAfter, notAfter);

  assert.equal(store.certs.isRevoked('01A2'), false);
  assert.deepEqual(store.certs.revoke({ serial: '01:A2' }, 'root'), ['1a2']);
  assert.equal(store.certs.isRevoked('01A2'), true, 'the TLS spelling finds the revocation');
  assert.deepEqual(store.certs.revoke({ serial: '1a2' }, 'root'), [], 'already revoked');
  assert.deepEqual(store.certs.revoke({ user: 'alice' }, 'root'), ['b33'], 'the rest of alice');
  assert.equal(store.certs.isRevoked('b33'), true);
  assert.equal(store.certs.isRevoked('c4'), false);
  assert.equal(store.certs.isRevoked('ffff'), false, 'unknown serials are not revoked');
  assert.equal(store.certs.isRevoked('not hex'), false);
  assert.throws(() => store.certs.revoke({ serial: 'xyz' }, 'root'), coded('INVALID_ARGUMENT', /invalid serial "xyz"/));
  assert.ok((store.certs.list()[0]?.revokedAt ?? 0) > 0);

  assert.throws(() => store.certs.revoke({ serial: 'dead' }, 'root'), coded('NOT_FOUND', /no certificate with serial dead/));
  assert.throws(() => store.certs.revoke({ user: 'nobody' }, 'root'), coded('NOT_FOUND', /no certificate was issued to user "nobody"/));
  assert.throws(() => store.certs.revoke({}, 'root'), coded('INVALID_ARGUMENT', /exactly one of serial and user/));
  assert.throws(() => store.certs.revoke({ serial: 'c4', user: 'bob' }, 'root'), coded('INVALID_ARGUMENT', /exactly one/));
  assert.deepEqual(store.certs.revoke({ serial: 'c4', user: undefined }, 'root'), ['c4'], 'an undefined field counts as absent');
});
