// The CLI checks the daemon's certificate itself (pki/daemon-check.ts: its TLS context holds no CA,
// so Node need not build its root store). Real TLS servers on 127.0.0.1:0 posing as the daemon:
// every wrong certificate is refused with a reason, and not one byte reaches such a server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { Connection } from '../../src/client/connection.ts';
import { createCa, issueClientCert, issueServerCert, type CertBundle } from '../../src/pki/certs.ts';
import { tlsServerOptions } from '../../src/pki/tls.ts';
import { isJobctlError } from '../../src/rpc/errors.ts';

const ca = createCa({ commonName: 'daemon CA' });
const foreignCa = createCa({ commonName: 'foreign CA' });
const day = 86_400_000;
/** A client that trusted an impostor would wait for its answer: fail instead of hanging the suite. */
const LIMIT = { timeout: 15_000 };
const identity = { caPem: ca.certPem, ...pick(issueClientCert(ca, { user: 'alice', role: 'user' })) };

function pick(c: CertBundle): { certPem: string; keyPem: string } {
  return { certPem: c.certPem, keyPem: c.keyPem };
}

/** A TLS 1.3 server with the given certificate that counts the application bytes it receives. */
async function impostor(cert: { certPem: string; keyPem: string }): Promise<{ port: number; received: () => number; close: () => void }> {
  let bytes = 0;
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer(tlsServerOptions({ caPem: ca.certPem, ...cert }), (socket) => {
    sockets.add(socket);
    socket.on('data', (d: Buffer) => (bytes += d.length));
    socket.on('error', () => undefined);
  });
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const close = (): void => {
    for (const socket of sockets) socket.destroy();
    server.close();
  };
  return { port: (server.address() as AddressInfo).port, received: () => bytes, close };
}

async function refusal(cert: { certPem: string; keyPem: string }, host = '127.0.0.1'): Promise<{ message: string; received: number }> {
  const server = await impostor(cert);
  try {
    const endpoint = `wss://${host}:${server.port}`;
    const err = await Connection.open(endpoint, identity, 1000).then(
      (c) => {
        c.close();
        throw new Error('connected to an impostor');
      },
      (e: unknown) => e,
    );
    assert.ok(isJobctlError(err), String(err));
    assert.equal(err.code, 'UNAUTHENTICATED', err.message);
    // Give a wrongly sent request time to arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { message: err.message, received: server.received() };
  } finally {
    server.close();
  }
}

test('a server whose certificate another CA issued is refused, and is sent nothing', LIMIT, async () => {
  const r = await refusal(pick(issueServerCert(foreignCa, { names: ['127.0.0.1'] })));
  assert.match(r.message, /not signed by the CA of your identity \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
  assert.equal(r.received, 0);
});

test('a certificate of the right CA for another name is refused', LIMIT, async () => {
  const r = await refusal(pick(issueServerCert(ca, { names: ['jobs.example.com'] })));
  assert.match(r.message, /certificate does not name wss:\/\/127\.0\.0\.1:\d+/);
  assert.equal(r.received, 0);
});

test('an expired or not yet valid server certificate is refused', LIMIT, async () => {
  const expired = await refusal(pick(issueServerCert(ca, { names: ['127.0.0.1'], testOverrides: { notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) } })));
  assert.match(expired.message, /outside its validity: the server's certificate has expired/);
  const early = await refusal(pick(issueServerCert(ca, { names: ['127.0.0.1'], testOverrides: { notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 10 * day) } })));
  assert.match(early.message, /outside its validity: the server's certificate is not yet valid/);
  assert.equal(expired.received + early.received, 0);
});

test('the CA certificate itself, or a client certificate, presented as the server is refused', LIMIT, async () => {
  const asServer = await refusal(pick(ca), 'localhost');
  assert.match(asServer.message, /INVALID_PURPOSE|does not name/);
  const client = await refusal(pick(issueClientCert(ca, { user: 'bob', role: 'user' })));
  assert.match(client.message, /INVALID_PURPOSE/);
  assert.equal(asServer.received + client.received, 0);
});

test('a server that accepts TCP but never finishes the handshake does not hang the command', LIMIT, async () => {
  const net = await import('node:net');
  const silent = net.createServer(() => undefined);
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  try {
    const port = (silent.address() as AddressInfo).port;
    const t0 = Date.now();
    await assert.rejects(Connection.open(`wss://127.0.0.1:${port}`, identity, 500), (e: unknown) => isJobctlError(e) && /did not answer in time/.test(e.message));
    assert.ok(Date.now() - t0 < 5000);
  } finally {
    silent.close();
  }
});
