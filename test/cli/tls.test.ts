// TLS refusals against a real daemon, each with a message a person can act on (never a bare "socket
// hang up"): a TLS 1.2 client, an identity of a foreign CA, no client certificate, a revoked one (and
// the live sessions of a revoked certificate dropped at once), expired and not-yet-valid
// certificates, and certificates whose extended key usage is not clientAuth. The daemon goes on
// serving everyone else throughout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { Connection, explainConnectError } from '../../src/client/connection.ts';
import { createCa, issueClientCert, writeIdentity, type IdentityPems } from '../../src/pki/index.ts';
import type { JobctlError } from '../../src/rpc/errors.ts';
import { startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { pollUntil } from '../support/poll.ts';
import { adminIdentity, assertExit, daemonCa, issueIdentity, openRaw, rejectsWith, startJob } from './helpers.ts';

let d: TestDaemon;
let dir: string;
let admin: IdentityPems;
/** An admin connection opened first and used after every refusal: the daemon keeps serving. */
let bystander: Connection;

before(async () => {
  d = await startTestDaemon();
  dir = mkdtempSync(join(tmpdir(), 'jobctl-tls-'));
  admin = adminIdentity(d);
  bystander = await Connection.open(d.endpoint, admin);
});
after(async () => {
  bystander?.close();
  rmSync(dir, { recursive: true, force: true });
  assert.equal(await d.stop(), 0);
});

const DAY = 24 * 60 * 60 * 1000;

/** Opens a connection expected to be refused; returns the error after checking it reads well. */
async function refused(pems: Partial<IdentityPems>, code: string, message: RegExp): Promise<JobctlError> {
  const err = (await rejectsWith(Connection.open(d.endpoint, pems as IdentityPems), code, 'connect')) as unknown as JobctlError;
  assert.match(err.message, message);
  assert.doesNotMatch(err.message, /socket hang up|ECONNRESET/);
  assert.equal((await bystander.call('session.info', {})).role, 'admin', 'the daemon still serves others');
  return err;
}

/** A client certificate from the daemon's own CA with deliberately bad fields. */
function badCert(user: string, overrides: Parameters<typeof issueClientCert>[1]['testOverrides']): IdentityPems {
  const ca = daemonCa(d);
  const c = issueClientCert(ca, { user, role: 'user', testOverrides: overrides });
  return { caPem: ca.certPem, certPem: c.certPem, keyPem: c.keyPem };
}

describe('refused at connect', () => {
  test('a TLS 1.2-only client: the handshake fails on the protocol version', async () => {
    const { port } = new URL(d.endpoint);
    const err = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: Number(port), maxVersion: 'TLSv1.2', ca: admin.caPem, cert: admin.certPem, key: admin.keyPem, servername: '' });
      socket.once('secureConnect', () => {
        socket.destroy();
        reject(new Error(`a TLS ${socket.getProtocol()} handshake succeeded`));
      });
      socket.once('error', resolve);
    });
    assert.match(`${err.code} ${err.message}`, /protocol version|UNSUPPORTED_PROTOCOL|WRONG_VERSION/i);
    const explained = explainConnectError(err, d.endpoint);
    assert.equal(explained.code, 'UNAUTHENTICATED');
    assert.match(explained.message, /TLS 1\.3 only/);
    assert.equal((await bystander.call('session.info', {})).role, 'admin');
  });

  test('no client certificate', async () => {
    await refused({ caPem: admin.caPem }, 'UNAUTHENTICATED', /no client certificate was presented/);
  });

  test('an identity issued by a foreign CA (Connection and CLI)', async () => {
    const foreign = createCa({ commonName: 'foreign CA' });
    const mallory = issueClientCert(foreign, { user: 'mallory', role: 'admin' });
    await refused({ caPem: admin.caPem, certPem: mallory.certPem, keyPem: mallory.keyPem }, 'UNAUTHENTICATED', /was not issued by this daemon's CA/);

    // Through the CLI: the daemon's CA in ca.crt, the foreign certificate as client.crt …
    const half = join(dir, 'foreign-client');
    writeIdentity(half, { caPem: admin.caPem, certPem: mallory.certPem, keyPem: mallory.keyPem });
    const r = await d.cli(['--identity', half, 'ps']);
    assertExit(r, 1);
    assert.match(r.stderr, /^jobctl: the client certificate of mallory was not issued by this daemon's CA .*jobctl certs issue/);
    // … and a wholly foreign identity, whose ca.crt does not vouch for the daemon either.
    const whole = join(dir, 'foreign-all');
    writeIdentity(whole, { caPem: foreign.certPem, certPem: mallory.certPem, keyPem: mallory.keyPem });
    const r2 = await d.cli(['--identity', whole, 'ps']);
    assertExit(r2, 1);
    assert.match(r2.stderr, /^jobctl: the daemon at wss:\/\/\S+ presented a certificate not signed by the CA of your identity .*check --identity/);
  });

  test('an expired certificate', async () => {
    const now = Date.now();
    await refused(badCert('olduser', { notBefore: new Date(now - 10 * DAY), notAfter: new Date(now - DAY) }), 'UNAUTHENTICATED', /client certificate of olduser expired on .*jobctl certs issue/);
  });

  test('a certificate not valid yet', async () => {
    const now = Date.now();
    await refused(badCert('early', { notBefore: new Date(now + DAY), notAfter: new Date(now + 10 * DAY) }), 'UNAUTHENTICATED', /client certificate of early is not valid before .*clocks/);
  });

  test('a certificate without clientAuth (serverAuth only)', async () => {
    await refused(badCert('eku', { extKeyUsage: ['serverAuth'] }), 'UNAUTHENTICATED', /not a client certificate \(its extended key usage lacks clientAuth\)/);
  });

  test("the daemon's own server certificate presented as a client certificate", async () => {
    const pki = join(d.home, 'pki');
    const server = { caPem: admin.caPem, certPem: readFileSync(join(pki, 'server.crt'), 'utf8'), keyPem: readFileSync(join(pki, 'server.key'), 'utf8') };
    await refused(server, 'UNAUTHENTICATED', /is not a client certificate/);
  });

  test('a certificate with a role jobctl does not know', async () => {
    await refused(badCert('rolly', { organization: 'superuser' }), 'PERMISSION_DENIED', /carries role "superuser".*roles are admin, user, viewer/);
  });
});

describe('revocation', () => {
  test('certs revoke --user: the next connection is refused and live sessions are dropped', async () => {
    const carolDir = join(dir, 'carol');
    const carol = await issueIdentity(d, 'carol', 'user', carolDir);
    const second = join(dir, 'carol2');
    const carol2 = await issueIdentity(d, 'carol', 'user', second);
    const a = await Connection.open(d.endpoint, carol);
    const b = await Connection.open(d.endpoint, carol2);
    try {
      const closed: JobctlError[] = [];
      a.onClose((e) => closed.push(e));
      b.onClose((e) => closed.push(e));
      // A live follow and a pending wait on the session about to be revoked.
      const job = await startJob(a, ['sleep', '600']);
      const follow = await a.streamLogs({ id: job.id, follow: true }, { onChunk: () => undefined });
      const waiting = a.call('job.wait', { id: job.id });
      const followEnded = follow.done.then(() => null, (e: JobctlError) => e);
      const waitEnded = waiting.then(() => null, (e: JobctlError) => e);

      const r = await d.cli(['certs', 'revoke', '--user', 'carol']);
      assertExit(r, 0);
      assert.match(r.stdout, /^revoked [0-9a-f]+, [0-9a-f]+\n$/, 'both of carol certificates');

      await pollUntil('both sessions of carol to be dropped', () => closed.length === 2, 5000);
      for (const e of closed) {
        assert.equal(e.code, 'UNAUTHENTICATED');
        assert.match(e.message, /certificate revoked/);
      }
      assert.equal((await waitEnded)?.code, 'UNAUTHENTICATED', 'the pending call fails');
      assert.equal((await followEnded)?.code, 'UNAUTHENTICATED', 'the follow ends with the session');
      await rejectsWith(a.call('session.info', {}), 'UNAUTHENTICATED', 'a call on the dropped session');

      await refused(carol, 'UNAUTHENTICATED', /certificate [0-9a-f]+ of carol has been revoked/);
      await refused(carol2, 'UNAUTHENTICATED', /has been revoked/);
      const cli = await d.cli(['--identity', carolDir, 'ps']);
      assertExit(cli, 1);
      assert.match(cli.stderr, /^jobctl: client certificate refused: certificate [0-9a-f]+ of carol has been revoked; ask an admin for a new one\n$/);
      // The job of a revoked user goes on; an admin still reaches it.
      assert.equal((await bystander.call('job.stop', { id: job.id, graceMs: 0 })).state, 'stopped');
    } finally {
      a.close();
      b.close();
    }
  });

  test('an admin revoking its own certificate gets the answer, then its session closes', async (t) => {
    const ops = await issueIdentity(d, 'ops', 'admin', join(dir, 'ops'));
    const raw = await openRaw(t, d.endpoint, ops);
    raw.sendJson({ t: 'req', id: 1, method: 'certs.revoke', params: { user: 'ops' } });
    const res = await raw.response(1);
    assert.equal((res.result as { revoked: string[] }).revoked.length, 1, JSON.stringify(res));
    assert.deepEqual(await raw.closed, { code: 4403, reason: 'certificate revoked' });
    await refused(ops, 'UNAUTHENTICATED', /of ops has been revoked/);
  });

  test('revoking one serial leaves the other certificates of that user working', async (t) => {
    const one = await issueIdentity(d, 'dora', 'viewer', join(dir, 'dora1'));
    const two = await issueIdentity(d, 'dora', 'viewer', join(dir, 'dora2'));
    const raw = await openRaw(t, d.endpoint, two);
    const serial = new X509Certificate(one.certPem).serialNumber;
    assertExit(await d.cli(['certs', 'revoke', '--serial', serial]), 0);
    await refused(one, 'UNAUTHENTICATED', /has been revoked/);
    const c = await Connection.open(d.endpoint, two);
    try {
      assert.equal((await c.call('session.info', {})).user, 'dora');
    } finally {
      c.close();
    }
    raw.sendJson({ t: 'req', id: 1, method: 'session.info', params: {} });
    assert.ok((await raw.response(1)).result, 'the live session of the other certificate stays');
  });
});
