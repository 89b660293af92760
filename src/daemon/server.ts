// The daemon's listener: HTTPS with TLS 1.3 and a required client certificate, and a WebSocket
// endpoint on it. The TLS layer accepts the handshake even for a bad certificate (so the refusal can
// say WHY); this file then refuses every request and upgrade whose socket is not authorized, revoked,
// or speaks another protocol version, with an HTTP status and a JSON body {code, message}. Nothing
// else is ever served to an unverified peer.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import { authenticateSocket } from '../pki/index.ts';
import { JobctlError } from '../rpc/errors.ts';
import { chooseSubprotocol } from '../rpc/protocol.ts';
import type { Caller } from '../rpc/roles.ts';
import { errorToWire } from '../rpc/wire-error.ts';
import type { DaemonContext } from './context.ts';
import { explainOversizeClose, HARD_FRAME_BYTES } from './frame-limit.ts';
import { Session } from './session.ts';

/** Creates the HTTPS+WebSocket server; call listen() on the result. */
export function createDaemonServer(tlsOptions: object, daemon: DaemonContext): Server {
  // HARD_FRAME_BYTES, not MAX_FRAME_BYTES: a request somewhat over the limit gets a coded answer (frame-limit.ts).
  const wss = new WebSocketServer({ noServer: true, maxPayload: HARD_FRAME_BYTES, perMessageDeflate: false, handleProtocols: (offered) => chooseSubprotocol(offered).protocol });
  const server = createServer({ ...tlsOptions });
  server.on('request', (req, res) => {
    const refusal = authenticate(req, daemon);
    const error = 'error' in refusal ? refusal : { status: 426, error: new JobctlError('PROTOCOL', 'this is a jobctl daemon: connect with the jobctl client (WebSocket, protocol jobctl.v1)') };
    res.writeHead(error.status, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify(errorToWire(error.error)));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const auth = authenticate(req, daemon);
    if ('error' in auth) return refuseUpgrade(socket, auth.status, auth.error, daemon);
    try {
      chooseSubprotocol(req.headers['sec-websocket-protocol']);
    } catch (err) {
      return refuseUpgrade(socket, 400, err as JobctlError, daemon);
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      explainOversizeClose(ws);
      const session = new Session(ws, auth.caller, auth.serial, daemon);
      daemon.sessions.add(session);
      daemon.logger.debug('session opened', { user: auth.caller.user, role: auth.caller.role });
    });
  });
  // A broken handshake (TLS 1.2 client, garbage) is that client's problem: log it, keep serving.
  server.on('tlsClientError', (err) => daemon.logger.debug('TLS handshake refused', { error: err.message }));
  server.on('clientError', (_err, socket) => socket.destroy());
  return server;
}

type AuthResult = { caller: Caller; serial: string } | { status: number; error: JobctlError };

function authenticate(req: IncomingMessage, daemon: DaemonContext): AuthResult {
  let identity;
  try {
    identity = authenticateSocket(req.socket as TLSSocket);
  } catch (err) {
    const error = err instanceof JobctlError ? err : new JobctlError('UNAUTHENTICATED', String(err));
    return { status: error.code === 'PERMISSION_DENIED' ? 403 : 401, error };
  }
  if (daemon.store.certs.isRevoked(identity.serial)) {
    return { status: 403, error: new JobctlError('UNAUTHENTICATED', `client certificate refused: certificate ${identity.serial} of ${identity.user} has been revoked; ask an admin for a new one`) };
  }
  return { caller: { user: identity.user, role: identity.role }, serial: identity.serial };
}

function refuseUpgrade(socket: Duplex, status: number, error: JobctlError, daemon: DaemonContext): void {
  daemon.logger.info('connection refused', { status, reason: error.message });
  const body = JSON.stringify(errorToWire(error));
  const text = status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 426 ? 'Upgrade Required' : 'Bad Request';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
