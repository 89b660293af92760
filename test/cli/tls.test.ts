// TLS refusals against a real daemon, each with a message a person can act on (never a bare "socket
// hang up"): a TLS 1.2 client, an identity of a foreign CA, no client certificate, a revoked one (and
// the live sessions of a revoked certificate dropped at once), expired and not-yet-valid
// certificates, and certificates whose extended key usage is not clientAuth. The daemon goes on
// serving everyone else throughout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { Connection } from '../../src/client/connection.ts';
import { dialDaemon, explainConnectError } from '../../src/client/dial.ts';
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

  test('a damaged identity directory: the CLI names the bad file, not a TLS error (the files are only checked after a failed connect)', async () => {
    const other = issueClientCert(daemonCa(d), { user: 'dave', role: 'user' });
    const cases: Array<[string, Partial<IdentityPems>, RegExp]> = [
      ['key-of-another', { keyPem: other.keyPem }, /client\.key is not the key of .*client\.crt/],
      ['key-garbage', { keyPem: 'not a key\n' }, /client\.key is not a PEM private key/],
      ['cert-garbage', { certPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }, /client\.crt is not a PEM certificate/],
      ['ca-garbage', { caPem: 'junk' }, /ca\.crt is not a PEM certificate/],
    ];
    for (const [name, damage, message] of cases) {
      const broken = join(dir, name);
      writeIdentity(broken, { ...admin, ...damage });
      const r = await d.cli(['--identity', broken, 'ps']);
      assertExit(r, 2, name);
      assert.match(r.stderr, message, name);
      assert.match(r.stderr, new RegExp(`^jobctl: ${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`), `${name}: the message starts with the file's path`);
    }
    assert.equal((await bystander.call('session.info', {})).role, 'admin');
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

describe('resumed TLS sessions (the CLI keeps session tickets)', () => {
  /** Dials with the ticket in file; resolves with the connection's outcome and whether TLS resumed. */
  async function dialResuming(pems: IdentityPems, file: string): Promise<{ reused: boolean; connection?: Connection; error?: JobctlError }> {
    const dialed = await dialDaemon(d.endpoint, pems, { sessionFile: file });
    let reused = false;
    dialed.socket.once('secureConnect', () => (reused = dialed.socket.isSessionReused()));
    try {
      const connection = await Connection.over(d.endpoint, dialed);
      return { reused, connection };
    } catch (err) {
      return { reused, error: err as JobctlError };
    }
  }

  /** Connects once with a full handshake and waits until its ticket is on disk. */
  async function ticketFor(pems: IdentityPems, file: string): Promise<void> {
    const first = await dialResuming(pems, file);
    assert.ok(first.connection, `first connection: ${first.error?.message}`);
    assert.equal((await first.connection.call('session.info', {})).role, 'user');
    await pollUntil('the session ticket to be saved', () => existsSync(file), 5000);
    first.connection.close();
  }

  test('the CLI saves a ticket 0600 in a 0700 directory and the next command resumes with it', async () => {
    const cache = join(dir, 'xdg-cache');
    const env = { XDG_CACHE_HOME: cache };
    assertExit(await d.cli(['ps'], { env }), 0, 'first ps');
    const sessions = join(cache, 'jobctl', 'tls-sessions');
    const files = readdirSync(sessions);
    assert.equal(files.length, 1, `one ticket: ${files.join(', ')}`);
    const ticket = join(sessions, files[0] as string);
    assert.equal(statSync(sessions).mode & 0o777, 0o700);
    assert.equal(statSync(ticket).mode & 0o777, 0o600);
    const r = await dialResuming(admin, ticket);
    assert.ok(r.connection, r.error?.message);
    assert.equal(r.reused, true, 'the ticket the CLI saved resumes the session');
    r.connection.close();
    // A resumed session is not verified again, so the ticket must never serve an identity whose
    // ca.crt does not vouch for this daemon (same client certificate, same endpoint).
    const distrusting = join(dir, 'admin-foreign-ca');
    writeIdentity(distrusting, { ...admin, caPem: createCa({ commonName: 'another CA' }).certPem });
    const refusedCli = await d.cli(['--identity', distrusting, 'ps'], { env });
    assertExit(refusedCli, 1, 'ps trusting another CA');
    assert.match(refusedCli.stderr, /presented a certificate not signed by the CA of your identity/);
    // A damaged ticket costs a full handshake, nothing else.
    writeFileSync(ticket, 'garbage');
    assertExit(await d.cli(['ps'], { env }), 0, 'ps with a damaged ticket');
  });

  test('a certificate revoked after its ticket was issued is refused on resumption', async () => {
    const pems = await issueIdentity(d, 'erin', 'user', join(dir, 'erin'));
    const file = join(dir, 'erin.session');
    await ticketFor(pems, file);
    assertExit(await d.cli(['certs', 'revoke', '--user', 'erin']), 0);
    const again = await dialResuming(pems, file);
    assert.equal(again.reused, true, 'the session was resumed');
    assert.equal(again.error?.code, 'UNAUTHENTICATED', again.error?.message ?? 'connected');
    assert.match(again.error.message, /of erin has been revoked/);
  });

  test('a certificate that expired after its ticket was issued is refused on resumption', async () => {
    const notAfter = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3000);
    const pems = badCert('fleeting', { notBefore: new Date(Date.now() - DAY), notAfter });
    const file = join(dir, 'fleeting.session');
    await ticketFor(pems, file);
    await pollUntil('the certificate to expire', () => Date.now() > notAfter.getTime() + 1000, 10_000);
    const again = await dialResuming(pems, file);
    assert.equal(again.reused, true, 'the session was resumed');
    assert.equal(again.error?.code, 'UNAUTHENTICATED', again.error?.message ?? 'connected');
    assert.match(again.error.message, /client certificate of fleeting expired on/);
    assert.equal((await bystander.call('session.info', {})).role, 'admin');
  });
});
