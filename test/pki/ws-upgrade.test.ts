// The pattern the daemon follows, end to end over real sockets: HTTPS with tlsServerOptions, a
// WebSocket upgrade that is refused with a readable HTTP answer when the client certificate did not
// verify or the protocol version does not match, and a ws client built from tlsClientOptions.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import WebSocket, { WebSocketServer } from 'ws';
import { createCa, issueClientCert, issueServerCert, type CertBundle } from '../../src/pki/certs.ts';
import { authenticateSocket } from '../../src/pki/peer.ts';
import { tlsClientOptions, tlsServerOptions } from '../../src/pki/tls.ts';
import { decodeFrame, encodeFrame, requestFrame, resultFrame } from '../../src/rpc/codec.ts';
import { isJobctlError } from '../../src/rpc/errors.ts';
import { MAX_FRAME_BYTES, PROTOCOL_VERSION, chooseSubprotocol, subprotocolFor } from '../../src/rpc/protocol.ts';

const ca = createCa({ commonName: 'ws CA' });
const serverCert = issueServerCert(ca, { names: ['localhost', '127.0.0.1'] });
const alice = issueClientCert(ca, { user: 'alice', role: 'admin' });
let server: https.Server;
let port: number;

before(async () => {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  server = https.createServer(tlsServerOptions({ caPem: ca.certPem, certPem: serverCert.certPem, keyPem: serverCert.keyPem }), (_req, res) => {
    res.writeHead(404).end();
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    let caller;
    let protocol;
    try {
      caller = authenticateSocket(req.socket as TLSSocket); // nothing is served to an unverified socket
      protocol = chooseSubprotocol(req.headers['sec-websocket-protocol']);
    } catch (err) {
      const status = isJobctlError(err) && err.code === 'PROTOCOL' ? '426 Upgrade Required' : '403 Forbidden';
      const body = isJobctlError(err) ? `${err.code}: ${err.message}\n` : 'refused\n';
      socket.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    const who = caller;
    wss.handleUpgrade(req, socket, head, (ws) => {
      assert.equal(ws.protocol, protocol.protocol);
      ws.on('message', (data: Buffer) => {
        const frame = decodeFrame(data);
        if (frame.t === 'req') ws.send(encodeFrame(resultFrame(frame.id, { user: who.user, role: who.role, protocolVersion: PROTOCOL_VERSION, serverVersion: 'test' })));
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server.close();
  server.closeAllConnections();
});

function connect(cert: CertBundle, protocol: string): Promise<{ ws: WebSocket } | { status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/`, protocol, tlsClientOptions({ caPem: ca.certPem, certPem: cert.certPem, keyPem: cert.keyPem }, '127.0.0.1'));
    ws.on('open', () => resolve({ ws }));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', reject);
  });
}

test('a verified client with the right version gets a session', async () => {
  const result = await connect(alice, subprotocolFor(PROTOCOL_VERSION));
  assert.ok('ws' in result);
  const { ws } = result;
  assert.equal(ws.protocol, 'jobctl.v1');
  ws.send(encodeFrame(requestFrame(1, 'session.info', {})));
  const [data] = (await once(ws, 'message')) as [Buffer];
  assert.deepEqual(decodeFrame(data), { t: 'res', id: 1, result: { user: 'alice', role: 'admin', protocolVersion: 1, serverVersion: 'test' } });
  ws.close();
  await once(ws, 'close');
});

test('another protocol version is refused with the versions served', async () => {
  const result = await connect(alice, 'jobctl.v2');
  assert.deepEqual(result, { status: 426, body: 'PROTOCOL: the client speaks protocol v2; this daemon serves v1: upgrade the daemon, or use a client of its release\n' });
});

test('an expired certificate is refused with the reason, before any frame', async () => {
  const old = issueClientCert(ca, { user: 'old', role: 'user', testOverrides: { notBefore: new Date(Date.now() - 9e8), notAfter: new Date(Date.now() - 1e8) } });
  const result = await connect(old, subprotocolFor(PROTOCOL_VERSION));
  assert.ok('status' in result);
  assert.equal(result.status, 403);
  assert.match(result.body, /^UNAUTHENTICATED: the client certificate of old expired on /);
});
