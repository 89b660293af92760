import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerCertificate } from 'node:tls';
import { identityFromPeerCertificate } from '../../src/pki/peer.ts';
import { JobctlError } from '../../src/rpc/errors.ts';

const cert = (subject: Record<string, unknown>, extra: Partial<PeerCertificate> = {}): PeerCertificate =>
  ({ subject, serialNumber: '4A0B', valid_to: 'Nov 24 03:20:00 2027 GMT', valid_from: 'Nov 24 03:20:00 2025 GMT', ...extra }) as unknown as PeerCertificate;

const coded = (code: string, re: RegExp) => (e: unknown) => e instanceof JobctlError && e.code === code && re.test(e.message);

test('identity from CN and O, serial canonical, notAfter ISO', () => {
  assert.deepEqual(identityFromPeerCertificate(cert({ CN: 'alice', O: 'viewer' })), {
    user: 'alice',
    role: 'viewer',
    serial: '4a0b',
    notAfter: '2027-11-24T03:20:00.000Z',
  });
});

test('refusals: unknown role, bad or repeated names, no certificate', () => {
  assert.throws(() => identityFromPeerCertificate(cert({ CN: 'alice', O: 'root' })), coded('PERMISSION_DENIED', /alice carries role "root" .*roles are admin, user, viewer/));
  assert.throws(() => identityFromPeerCertificate(cert({ CN: 'alice' })), coded('PERMISSION_DENIED', /role null/));
  assert.throws(() => identityFromPeerCertificate(cert({ CN: 'alice', O: ['admin', 'user'] })), coded('PERMISSION_DENIED', /role \["admin","user"\]/));
  assert.throws(() => identityFromPeerCertificate(cert({ CN: ['a', 'b'], O: 'admin' })), coded('UNAUTHENTICATED', /subject CN \["a","b"\] is not a jobctl user name/));
  assert.throws(() => identityFromPeerCertificate(cert({ CN: '-x', O: 'admin' })), coded('UNAUTHENTICATED', /"-x"/));
  assert.throws(() => identityFromPeerCertificate(cert({ CN: 'a', O: 'admin' }, { serialNumber: '' })), coded('UNAUTHENTICATED', /no readable serial/));
  assert.throws(() => identityFromPeerCertificate({} as PeerCertificate), coded('UNAUTHENTICATED', /no client certificate/));
});
