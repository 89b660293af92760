import { before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueClientCert, issueServerCert } from '../../src/pki/certs.ts';
import { ensureDaemonPki } from '../../src/pki/daemon-pki.ts';
import { readIdentity } from '../../src/pki/identity-dir.ts';
import { JobctlError } from '../../src/rpc/errors.ts';
import { modeOf, tempDir, tempDirOnce } from './tmpdir.ts';

// RSA keys take ~0.2 s each here: tests that start from an existing PKI copy one made once.
let template: string;
before(() => {
  template = join(tempDirOnce(), 'pki');
  ensureDaemonPki(template, { localUser: 'alice' });
});

function existingPki(t: TestContext): { dir: string; first: ReturnType<typeof ensureDaemonPki> } {
  const dir = join(tempDir(t), 'pki');
  cpSync(template, dir, { recursive: true });
  const first = ensureDaemonPki(dir, { localUser: 'alice' });
  assert.equal(first.created.ca || first.created.server || first.created.admin, false);
  return { dir, first };
}

const coded = (code: string, re: RegExp) => (e: unknown) => e instanceof JobctlError && e.code === code && re.test(e.message);

test('first start creates CA, server certificate and admin identity with private modes', (t) => {
  const dir = join(tempDir(t), 'pki');
  const pki = ensureDaemonPki(dir, { localUser: 'alice', extraNames: ['jobs.example.com', '10.0.0.5'] });
  assert.deepEqual(pki.created, { ca: true, server: true, admin: true });
  assert.deepEqual(readdirSync(dir).sort(), ['admin', 'ca.crt', 'ca.key', 'server.crt', 'server.key']);
  assert.equal(modeOf(dir), 0o700);
  assert.equal(modeOf(join(dir, 'ca.key')), 0o600);
  assert.equal(modeOf(join(dir, 'server.key')), 0o600);
  assert.equal(modeOf(join(dir, 'admin')), 0o700);
  assert.equal(modeOf(join(dir, 'admin', 'client.key')), 0o600);

  const server = new X509Certificate(readFileSync(join(dir, 'server.crt')));
  for (const ip of ['127.0.0.1', '::1', '10.0.0.5']) assert.ok(server.checkIP(ip), ip);
  for (const host of ['localhost', 'jobs.example.com']) assert.ok(server.checkHost(host), host);
  assert.ok(pki.server.names.includes('jobs.example.com'));

  const id = readIdentity(pki.admin.dir);
  assert.equal(id.caPem, pki.ca.certPem);
  const admin = new X509Certificate(id.certPem);
  assert.equal(admin.subject, 'CN=alice\nO=admin');
  assert.equal(pki.admin.user, 'alice');
  assert.equal(pki.admin.role, 'admin');
  assert.equal(admin.serialNumber.toLowerCase(), pki.admin.serial);
  assert.ok(admin.verify(new X509Certificate(pki.ca.certPem).publicKey));
});

test('later starts load everything as it is', (t) => {
  const { dir, first } = existingPki(t);
  const second = ensureDaemonPki(dir, { localUser: 'alice' });
  assert.deepEqual(second.created, { ca: false, server: false, admin: false });
  assert.equal(second.ca.certPem, first.ca.certPem);
  assert.equal(second.server.serial, first.server.serial);
  assert.equal(second.admin.serial, first.admin.serial);
  assert.equal(second.admin.notAfter, first.admin.notAfter);
});

test('the server certificate is reissued for new names, a lost key, or near expiry', (t) => {
  const { dir, first } = existingPki(t);
  const renamed = ensureDaemonPki(dir, { localUser: 'alice', extraNames: ['new.example.com'] });
  assert.deepEqual(renamed.created, { ca: false, server: true, admin: false });
  assert.notEqual(renamed.server.serial, first.server.serial);
  assert.equal(ensureDaemonPki(dir, { localUser: 'alice', extraNames: ['new.example.com'] }).created.server, false);
  assert.equal(ensureDaemonPki(dir, { localUser: 'alice' }).created.server, false, 'a certificate covering more names still covers');

  rmSync(join(dir, 'server.key'));
  assert.equal(ensureDaemonPki(dir, { localUser: 'alice' }).created.server, true);

  const soon = issueServerCert(first.ca, { names: ['localhost', '127.0.0.1', '::1'], testOverrides: { notAfter: new Date(Date.now() + 10 * 86_400_000) } });
  writeFileSync(join(dir, 'server.crt'), soon.certPem);
  writeFileSync(join(dir, 'server.key'), soon.keyPem);
  assert.equal(ensureDaemonPki(dir, { localUser: 'alice' }).created.server, true);
});

test('the admin identity is reissued when revoked, for another local user, or when broken', (t) => {
  const { dir, first } = existingPki(t);
  const revoked = ensureDaemonPki(dir, { localUser: 'alice', isRevoked: (s) => s === first.admin.serial });
  assert.equal(revoked.created.admin, true);
  assert.notEqual(revoked.admin.serial, first.admin.serial);
  const other = ensureDaemonPki(dir, { localUser: 'bob' });
  assert.equal(other.created.admin, true);
  assert.match(new X509Certificate(readIdentity(other.admin.dir).certPem).subject, /^CN=bob\n/);
  writeFileSync(join(dir, 'admin', 'client.crt'), issueClientCert(first.ca, { user: 'bob', role: 'user' }).certPem);
  assert.equal(ensureDaemonPki(dir, { localUser: 'bob' }).created.admin, true, 'key mismatch');
  writeFileSync(join(dir, 'admin', 'ca.crt'), 'stale');
  const fixed = ensureDaemonPki(dir, { localUser: 'bob' });
  assert.equal(fixed.created.admin, false);
  assert.equal(readIdentity(fixed.admin.dir).caPem, fixed.ca.certPem, 'stale ca.crt rewritten');
});

test('loose permissions on the PKI directory are tightened', (t) => {
  const { dir } = existingPki(t);
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'admin'), 0o755);
  ensureDaemonPki(dir, { localUser: 'alice' });
  assert.equal(modeOf(dir), 0o700);
  assert.equal(modeOf(join(dir, 'admin')), 0o700);
});

test('the CA is never replaced silently', (t) => {
  const { dir, first } = existingPki(t);
  rmSync(join(dir, 'ca.key'));
  assert.throws(() => ensureDaemonPki(dir, { localUser: 'alice' }), coded('INTERNAL', /ca\.crt exists but .*ca\.key is missing: restore it from a backup, or move .* aside to start a new CA/));
  writeFileSync(join(dir, 'ca.key'), first.server.keyPem);
  assert.throws(() => ensureDaemonPki(dir, { localUser: 'alice' }), coded('INTERNAL', /ca\.key is not the key of/));
});

test('a CA key without its certificate (a crash during creation) starts over', (t) => {
  const { dir, first } = existingPki(t);
  rmSync(join(dir, 'ca.crt'));
  const again = ensureDaemonPki(dir, { localUser: 'alice' });
  assert.deepEqual(again.created, { ca: true, server: true, admin: true });
  assert.notEqual(again.ca.certPem, first.ca.certPem);
});

test('bad local user names and extra names are coded errors', (t) => {
  const dir = tempDir(t);
  assert.throws(() => ensureDaemonPki(dir, { localUser: 'John Smith' }), coded('INVALID_ARGUMENT', /^invalid localUser "John Smith"/));
  assert.throws(() => ensureDaemonPki(dir, { localUser: 'alice', extraNames: ['bad name'] }), coded('INVALID_ARGUMENT', /^invalid names "bad name"/));
});
