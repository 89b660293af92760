// The first step of reaching a daemon: the TCP connection and the start of the TLS 1.3 handshake,
// with nothing of the WebSocket layer loaded yet. A one-shot command (`jobctl ps`) dials, and while
// the daemon works on the ClientHello (its signature, our certificate) it loads ws and http — ≈ 3 ms
// of module loading that would otherwise come before the first packet (docs/BENCHMARKS.md, "CLI").
import { connect, type TLSSocket } from 'node:tls';
import { daemonCertificateProblem } from '../pki/daemon-check.ts';
import type { IdentityPems } from '../pki/identity-dir.ts';
import { tlsClientOptions } from '../pki/tls.ts';
import { JobctlError, isJobctlError } from '../rpc/errors.ts';
import { dropSession, loadSession, saveSession } from './tls-sessions.ts';

/** A TLS socket whose TCP connection is up and whose ClientHello is sent; the handshake goes on. */
export interface DialedSocket {
  socket: TLSSocket;
  /** The error the socket reported before anyone else listened, if any (checked when it is adopted). */
  earlyError(): Error | null;
  /**
   * Resolves once the handshake is done and the daemon's certificate passed daemonCertificateProblem;
   * rejects (and the socket is destroyed) otherwise. Nothing may be written on the socket before.
   */
  verified: Promise<void>;
}

/** How to dial. */
export interface DialOptions {
  /** For the TCP connection (the WebSocket's handshake timeout covers the rest). Default 10 s. */
  timeoutMs?: number;
  /** A file of tls-sessions.ts: resume the session ticket it holds, keep the next one there. */
  sessionFile?: string | null;
}

/**
 * Opens a TCP connection to endpoint (wss://HOST:PORT) and starts the mutual-TLS handshake with
 * identity. Resolves once TCP is connected; rejects with a coded, readable error (a refused
 * connection is UNAVAILABLE, an unreadable identity INVALID_ARGUMENT).
 */
export function dialDaemon(endpoint: string, identity: IdentityPems, options: DialOptions = {}): Promise<DialedSocket> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const sessionFile = options.sessionFile ?? null;
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(endpoint);
      if (url.protocol !== 'wss:' || !url.port) throw new Error('not wss://HOST:PORT');
    } catch {
      reject(new JobctlError('INVALID_ARGUMENT', `invalid endpoint ${JSON.stringify(endpoint)}: expected wss://HOST:PORT`));
      return;
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    // No CA in the TLS context and no verification by OpenSSL: daemonCertificateProblem checks the
    // daemon against the identity's CA once the handshake is done (pki/daemon-check.ts says why).
    const tlsOptions = { ...tlsClientOptions(identity, url.hostname), ca: [], rejectUnauthorized: false, port: Number(url.port) };
    const ticket = sessionFile === null ? undefined : loadSession(sessionFile);
    let socket: TLSSocket;
    try {
      try {
        socket = connect({ ...tlsOptions, session: ticket });
      } catch (err) {
        if (ticket === undefined) throw err;
        // A ticket OpenSSL cannot read (damaged, another OpenSSL's): forget it, do the full handshake.
        dropSession(sessionFile as string);
        socket = connect(tlsOptions);
      }
    } catch (err) {
      // OpenSSL refused the PEM material itself (not a key, not a certificate, not a pair).
      reject(new JobctlError('INVALID_ARGUMENT', `the client identity cannot be used for TLS: ${(err as Error).message}`, { cause: err }));
      return;
    }
    let trusted = false;
    const verified = new Promise<void>((resolveVerified, rejectVerified) => {
      socket.once('secureConnect', () => {
        socket.setTimeout(0);
        // A resumed session needs no certificate (Node shows none then): only the daemon that issued
        // the ticket can complete it (the resumption secret travels inside the ticket, encrypted
        // with that daemon's key), and tickets are kept only from checked handshakes, per endpoint
        // and CA (tls-sessions.ts).
        const problem = socket.isSessionReused() ? null : daemonCertificateProblem(socket, identity.caPem, host);
        if (problem) {
          rejectVerified(problem);
          socket.destroy(problem);
          return;
        }
        trusted = true;
        resolveVerified();
      });
      socket.once('close', () => rejectVerified(early ?? new Error('socket hang up')));
    });
    // Whoever adopts the socket awaits it; until then a refusal must not be an unhandled rejection.
    verified.catch(() => undefined);
    if (sessionFile !== null) {
      // TLS 1.3 tickets come after the handshake (OpenSSL sends two); the first is kept. One that
      // resumed is kept until it expires, so most commands write nothing. Never one of a daemon that
      // failed the check.
      let saved = false;
      socket.on('session', (next: Buffer) => {
        if (saved || !trusted || socket.isSessionReused()) return;
        saved = true;
        saveSession(sessionFile, next);
      });
    }
    let early: Error | null = null;
    // Stays attached: an error between this promise and the WebSocket taking the socket over is kept
    // for it (earlyError) instead of crashing the process as an unhandled 'error' event.
    socket.on('error', (err) => {
      early ??= err;
      reject(explainConnectError(err as NodeJS.ErrnoException, endpoint));
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })));
    // TLSSocket starts the handshake in its own (earlier) 'connect' listener: the hello is out by now.
    // The timeout stays until the handshake is done ('secureConnect'): a peer that accepts TCP and
    // never finishes TLS must not hang the command.
    socket.once('connect', () => resolve({ socket, earlyError: () => early, verified }));
  });
}

/** A readable reason for a failed connect (not a bare "socket hang up"). */
export function explainConnectError(err: NodeJS.ErrnoException, endpoint: string): JobctlError {
  if (isJobctlError(err)) return err;
  const code = err.code ?? '';
  const text = err.message ?? String(err);
  if (code === 'ECONNREFUSED') return new JobctlError('UNAVAILABLE', `no daemon is listening at ${endpoint} (connection refused)`, { cause: err });
  if (code === 'ETIMEDOUT' || /timed out/i.test(text)) return new JobctlError('UNAVAILABLE', `the daemon at ${endpoint} did not answer in time`, { cause: err });
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new JobctlError('UNAVAILABLE', `cannot resolve the host of ${endpoint}`, { cause: err });
  if (/ERR_TLS_CERT_ALTNAME_INVALID/.test(code)) return new JobctlError('UNAUTHENTICATED', `the daemon's certificate does not name ${endpoint}: ${text}`, { cause: err });
  if (code === 'INVALID_PURPOSE' || code === 'INVALID_CA') return new JobctlError('UNAUTHENTICATED', `the daemon at ${endpoint} presented a certificate that cannot identify a server (${code}): ${text}`, { cause: err });
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return new JobctlError('UNAUTHENTICATED', `the daemon at ${endpoint} presented a certificate outside its validity: ${text}`, { cause: err });
  if (/UNABLE_TO_VERIFY|SELF_SIGNED|CERT_/.test(code)) {
    return new JobctlError('UNAUTHENTICATED', `the daemon at ${endpoint} presented a certificate not signed by the CA of your identity (${code}); check --identity`, { cause: err });
  }
  if (/PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|EPROTO/.test(code + text)) {
    return new JobctlError('UNAUTHENTICATED', `TLS handshake with ${endpoint} failed: the daemon speaks TLS 1.3 only (${text})`, { cause: err });
  }
  if (/CERTIFICATE_REQUIRED/.test(code + text)) return new JobctlError('UNAUTHENTICATED', `the daemon requires a client certificate: use --identity DIR`, { cause: err });
  if (code === 'ECONNRESET' || /hang up/.test(text)) {
    return new JobctlError('UNAUTHENTICATED', `the daemon at ${endpoint} closed the connection during the handshake (was your certificate issued by this daemon's CA?)`, { cause: err });
  }
  return new JobctlError('UNAVAILABLE', `cannot connect to ${endpoint}: ${text}`, { cause: err });
}
