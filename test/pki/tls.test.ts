// A real HTTPS server on 127.0.0.1:0 with tlsServerOptions, reached with tlsClientOptions: what
// succeeds, and how each bad client certificate is seen by the server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { createCa, issueClientCert, issueServerCert, type CertBundle } from '../../src/pki/certs.ts';
import { authenticateSocket } from '../../src/pki/peer.ts';
import { TLS13_CIPHERSUITES, tlsClientOptions, tlsServerOptions, type TlsMaterial } from '../../src/pki/tls.ts';
import { isJobctlError } from '../../src/rpc/errors.ts';

const ca = createCa({ commonName: 'daemon CA' });
const foreignCa = createCa({ commonName: 'foreign CA' });
const server = issueServerCert(ca, { names: ['localhost', '127.0.0.1', '::1'] });
const day = 86_400_000;

const identity = (c: CertBundle, caPem = ca.certPem): TlsMaterial => ({ caPem, certPem: c.certPem, keyPem: c.keyPem });
const alice = issueClientCert(ca, { user: 'alice', role: 'user' });

interface Seen {
  authorized: boolean;
  authorizationError: string | null;
  protocol: string | null;
  cipher: string;
  identity?: unknown;
  refusal?: { code: string; message: string };
}

let httpsServer: https.Server;
let port: number;
const tlsClientErrors: Error[] = [];

before(async () => {
  httpsServer = https.createServer(tlsServerOptions({ caPem: ca.certPem, certPem: server.certPem, keyPem: server.keyPem }), (req, res) => {
    const socket = req.socket as tls.TLSSocket;
    const seen: Seen = {
      authorized: socket.authorized,
      authorizationError: socket.authorizationError ? String(socket.authorizationError) : null,
      protocol: socket.getProtocol(),
      cipher: socket.getCipher().name,
    };
    try {
      seen.identity = authenticateSocket(socket);
    } catch (err) {
      if (!isJobctlError(err)) throw err;
      seen.refusal = { code: err.code, message: err.message };
    }
    res.writeHead(seen.refusal ? 403 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(seen));
  });
  httpsServer.on('tlsClientError', (err) => tlsClientErrors.push(err));
  httpsServer.listen(0, '127.0.0.1');
  await once(httpsServer, 'listening');
  port = (httpsServer.address() as AddressInfo).port;
});

after(() => {
  httpsServer.close();
  httpsServer.closeAllConnections();
});

function get(options: https.RequestOptions): Promise<{ status: number; body: Seen }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ ...options, port, path: '/', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Seen }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a valid client: TLS 1.3, an AEAD suite, identity from the certificate', async () => {
  const { status, body } = await get(tlsClientOptions(identity(alice), '127.0.0.1'));
  assert.equal(status, 200);
  assert.equal(body.authorized, true);
  assert.equal(body.protocol, 'TLSv1.3');
  assert.ok(TLS13_CIPHERSUITES.split(':').includes(body.cipher), body.cipher);
  assert.deepEqual(body.identity, { user: 'alice', role: 'user', serial: alice.serial, notAfter: alice.notAfter });
});

test('the client checks the server name: DNS SAN via SNI, mismatch refused', async () => {
  const ok = await get({ ...tlsClientOptions(identity(alice), 'localhost'), host: '127.0.0.1' });
  assert.equal(ok.status, 200);
  await assert.rejects(get({ ...tlsClientOptions(identity(alice), 'jobs.example.com'), host: '127.0.0.1' }), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
});

test('the client refuses a server its CA did not issue', async () => {
  const stranger = issueClientCert(foreignCa, { user: 'alice', role: 'user' });
  // OpenSSL sends the CA along with the server certificate, so the client sees a foreign self-signed root.
  await assert.rejects(get(tlsClientOptions(identity(stranger, foreignCa.certPem), '127.0.0.1')), (err: NodeJS.ErrnoException) =>
    ['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'].includes(String(err.code)),
  );
});

test('a TLS 1.2-only client is refused in the handshake', async () => {
  const before = tlsClientErrors.length;
  const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.certPem, cert: alice.certPem, key: alice.keyPem, maxVersion: 'TLSv1.2', servername: 'localhost' });
  const [err] = (await once(socket, 'error').catch((e: unknown) => [e])) as [NodeJS.ErrnoException];
  assert.match(String(err.code), /ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION|EPROTO|ECONNRESET/);
  await waitFor(() => tlsClientErrors.length > before);
  assert.match(String((tlsClientErrors.at(-1) as NodeJS.ErrnoException).code), /ERR_SSL_UNSUPPORTED_PROTOCOL/);
});

// [label, certificate or null for none, expected authorizationError, message pattern]
const refusals: Array<[string, () => CertBundle | null, string | null, RegExp]> = [
  ['foreign CA', () => issueClientCert(foreignCa, { user: 'mallory', role: 'admin' }), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', /of mallory was not issued by this daemon's CA/],
  [
    'expired',
    () => issueClientCert(ca, { user: 'old', role: 'user', testOverrides: { notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) } }),
    'CERT_HAS_EXPIRED',
    /of old expired on .*: ask an admin for a new one/,
  ],
  [
    'not yet valid',
    () => issueClientCert(ca, { user: 'early', role: 'user', testOverrides: { notBefore: new Date(Date.now() + day) } }),
    'CERT_NOT_YET_VALID',
    /of early is not valid before .*check the clocks/,
  ],
  [
    'server certificate used as client certificate',
    () => issueClientCert(ca, { user: 'srv', role: 'user', testOverrides: { extKeyUsage: ['serverAuth'] } }),
    'INVALID_PURPOSE',
    /is not a client certificate/,
  ],
  ['no certificate', () => null, null, /no client certificate was presented/],
];

for (const [label, make, code, re] of refusals) {
  test(`refused at the upgrade, with a reason: ${label}`, async () => {
    const cert = make();
    const opts = cert ? tlsClientOptions(identity(cert), '127.0.0.1') : { ...tlsClientOptions(identity(alice), '127.0.0.1'), cert: undefined, key: undefined };
    const { status, body } = await get(opts);
    assert.equal(status, 403);
    assert.equal(body.authorized, false);
    if (code) assert.equal(body.authorizationError, code);
    assert.equal(body.refusal?.code, 'UNAUTHENTICATED');
    assert.match(body.refusal?.message ?? '', re);
  });
}

test('a verified certificate with a role jobctl does not know is PERMISSION_DENIED', async () => {
  const odd = issueClientCert(ca, { user: 'x', role: 'user', testOverrides: { organization: 'superuser' } });
  const { status, body } = await get(tlsClientOptions(identity(odd), '127.0.0.1'));
  assert.equal(status, 403);
  assert.equal(body.authorized, true);
  assert.equal(body.refusal?.code, 'PERMISSION_DENIED');
  assert.match(body.refusal?.message ?? '', /carries role "superuser" \(subject O\); jobctl roles are admin, user, viewer/);
});

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
