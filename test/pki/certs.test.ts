import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { createCa, issueClientCert, issueServerCert, randomSerial } from '../../src/pki/certs.ts';
import { JobctlError } from '../../src/rpc/errors.ts';
import { normalizeSerial } from '../../src/rpc/roles.ts';

const ca = createCa({ commonName: 'test CA' });
const caX509 = new X509Certificate(ca.certPem);

type Ext = Record<string, unknown> | null;
const ext = (pem: string, name: string): Ext => forge.pki.certificateFromPem(pem).getExtension(name) as Ext;

test('CA: self-signed, CA:true critical, keyCertSign + cRLSign, subjectKeyIdentifier', () => {
  assert.equal(caX509.ca, true);
  assert.equal(caX509.subject, 'CN=test CA');
  assert.ok(caX509.checkIssued(caX509) && caX509.verify(caX509.publicKey));
  assert.deepEqual(
    { cA: ext(ca.certPem, 'basicConstraints')?.cA, critical: ext(ca.certPem, 'basicConstraints')?.critical },
    { cA: true, critical: true },
  );
  const ku = ext(ca.certPem, 'keyUsage');
  assert.equal(ku?.keyCertSign, true);
  assert.equal(ku?.cRLSign, true);
  assert.equal(ku?.digitalSignature, false);
  assert.ok(ext(ca.certPem, 'subjectKeyIdentifier'));
  assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----/);
  assert.equal(new Date(caX509.validTo).getTime() - new Date(caX509.validFrom).getTime(), (3650 * 24 * 60 + 5) * 60_000);
  assert.match(new X509Certificate(ca.certPem).publicKey.asymmetricKeyDetails?.modulusLength?.toString() ?? '', /^2048$/);
});

test('server certificate: DNS and IP SANs, serverAuth only, key usage, AKI = CA SKI', () => {
  const s = issueServerCert(ca, { names: ['localhost', '127.0.0.1', '::1', 'Build-Host.Example.com', '[fe80::1:2]', '10.1.2.3', 'localhost'] });
  const x = new X509Certificate(s.certPem);
  assert.ok(x.checkIssued(caX509) && x.verify(caX509.publicKey));
  assert.equal(x.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:build-host.example.com, IP Address:FE80:0:0:0:0:0:1:2, IP Address:10.1.2.3');
  assert.ok(x.checkIP('::1'));
  assert.ok(x.checkIP('127.0.0.1'));
  assert.equal(x.checkIP('127.0.0.2'), undefined);
  assert.ok(x.checkHost('build-host.example.com'));
  assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extKeyUsage serverAuth only');
  const ku = ext(s.certPem, 'keyUsage');
  assert.equal(ku?.digitalSignature, true);
  assert.equal(ku?.keyEncipherment, true);
  assert.equal(ku?.keyCertSign, false);
  assert.equal(ext(s.certPem, 'basicConstraints')?.cA, false);
  const aki = forge.pki.certificateFromPem(s.certPem).getExtension('authorityKeyIdentifier') as { value: string };
  const caSki = (ext(ca.certPem, 'subjectKeyIdentifier') as { subjectKeyIdentifier: string }).subjectKeyIdentifier;
  assert.ok(forge.util.bytesToHex(aki.value).endsWith(caSki), 'AKI keyIdentifier is the CA SKI');
  assert.equal(x.serialNumber.toLowerCase(), s.serial);
});

test('server names are validated', () => {
  for (const bad of ['', 'bad name', 'a..b', '-x.com', 'x'.repeat(64), 'exa mple', 'ho$t']) {
    assert.throws(() => issueServerCert(ca, { names: [bad] }), (e: unknown) => e instanceof JobctlError && e.code === 'INVALID_ARGUMENT' && /invalid names/.test(e.message), bad);
  }
  assert.throws(() => issueServerCert(ca, { names: [] }), /at least one DNS name or IP address/);
});

test('client certificate: CN = user, O = role, clientAuth only, validity with 5 min skew', () => {
  const before = Date.now();
  const c = issueClientCert(ca, { user: 'alice@corp', role: 'viewer', days: 30 });
  const x = new X509Certificate(c.certPem);
  assert.equal(x.subject, 'CN=alice@corp\nO=viewer');
  assert.equal(x.issuer, 'CN=test CA');
  assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'extKeyUsage clientAuth only');
  assert.ok(x.checkIssued(caX509) && x.verify(caX509.publicKey));
  const notBefore = new Date(x.validFrom).getTime();
  assert.ok(before - notBefore >= 5 * 60_000 - 1000 && before - notBefore <= 5 * 60_000 + 1000, 'notBefore = now - 5 min');
  assert.equal(c.notAfter, new Date(x.validTo).toISOString());
  assert.ok(Math.abs(new Date(c.notAfter).getTime() - (before + 30 * 86_400_000)) < 2000);
  assert.ok(forge.pki.certificateFromPem(c.certPem).getExtension('authorityKeyIdentifier'));
});

test('client certificate input is validated with coded errors', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ user: '-rf', role: 'user' }, /^invalid user "-rf": a user name: 1-64 characters/],
    [{ user: '', role: 'user' }, /invalid user ""/],
    [{ user: 'a/b', role: 'user' }, /invalid user "a\/b"/],
    [{ user: 'x'.repeat(65), role: 'user' }, /invalid user/],
    [{ user: 'bob', role: 'root' }, /^invalid role "root": one of admin, user, viewer$/],
    [{ user: 'bob', role: 'user', days: 0 }, /^invalid days 0: an integer from 1 to 3650$/],
    [{ user: 'bob', role: 'user', days: 1.5 }, /invalid days 1\.5/],
  ];
  for (const [opts, re] of cases) {
    assert.throws(
      () => issueClientCert(ca, opts as never),
      (e: unknown) => e instanceof JobctlError && e.code === 'INVALID_ARGUMENT' && re.test(e.message),
      JSON.stringify(opts),
    );
  }
});

test('test overrides produce deliberately bad certificates', () => {
  const past = new Date(Date.now() - 10 * 86_400_000);
  const expired = issueClientCert(ca, { user: 'old', role: 'user', testOverrides: { notBefore: past, notAfter: new Date(Date.now() - 86_400_000) } });
  assert.ok(new Date(new X509Certificate(expired.certPem).validTo).getTime() < Date.now());
  const wrongEku = issueClientCert(ca, { user: 'srv', role: 'user', testOverrides: { extKeyUsage: ['serverAuth'] } });
  assert.deepEqual(new X509Certificate(wrongEku.certPem).keyUsage, ['1.3.6.1.5.5.7.3.1']);
  const badRole = issueClientCert(ca, { user: 'x', role: 'user', testOverrides: { organization: 'superuser' } });
  assert.equal(new X509Certificate(badRole.certPem).subject, 'CN=x\nO=superuser');
});

test('serials: 16 random bytes, positive, canonical hex, unique', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const s = randomSerial();
    assert.match(s, /^[1-7][0-9a-f]{31}$/);
    assert.equal(normalizeSerial(s), s);
    seen.add(s);
  }
  assert.equal(seen.size, 2000);
  const c = issueClientCert(ca, { user: 'u', role: 'user' });
  assert.equal(normalizeSerial(new X509Certificate(c.certPem).serialNumber), c.serial);
});
