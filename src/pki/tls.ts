// TLS settings of both ends: TLS 1.3 only (no 1.2 fallback), its AEAD suites only, mutual
// authentication against the daemon's CA.
import { isIP } from 'node:net';
import type { ConnectionOptions, TlsOptions } from 'node:tls';

/**
 * The TLS 1.3 suites, all AEAD. Node takes TLS 1.3 suites in the `ciphers` string (names starting
 * with "TLS_" go to OpenSSL's SSL_CTX_set_ciphersuites); with minVersion 1.3 no 1.2 suite can apply.
 */
export const TLS13_CIPHERSUITES = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';

/** How long a session ticket the daemon issues can be resumed: one working hour at a terminal. */
export const SESSION_TICKET_SECONDS = 3600;

/** PEMs a TLS endpoint needs: the CA that authenticates the peer, our certificate and key. */
export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/**
 * Server options (for https.createServer / tls.createServer). The handshake asks for a client
 * certificate but does NOT reject an unverified one (rejectUnauthorized: false): with rejection at
 * the TLS layer a refused client only sees "socket hang up" or ECONNRESET. The daemon MUST instead
 * refuse every request and upgrade on a socket whose `authorized` is false — call authenticateSocket
 * (peer.ts) before serving anything, and answer 403 with its message.
 */
export function tlsServerOptions(m: TlsMaterial): TlsOptions {
  return {
    ca: m.caPem,
    cert: m.certPem,
    key: m.keyPem,
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    ciphers: TLS13_CIPHERSUITES,
    honorCipherOrder: true,
    // Lifetime of the session tickets CLI commands resume (client/tls-sessions.ts). A resumed session
    // skips the certificate exchange, not the checks: peer.ts re-checks the certificate's dates and
    // the server its revocation on every connection. Ticket keys live in memory only, so a daemon
    // restart invalidates them all.
    sessionTimeout: SESSION_TICKET_SECONDS,
  };
}

/**
 * Client options (for tls.connect, https.request or a ws client): verifies the daemon against the CA
 * (and only it: the system roots are not trusted) and its certificate against host. For an IP literal
 * host no SNI is sent (RFC 6066 forbids IPs there) and the address is matched against the IP SANs.
 */
export function tlsClientOptions(m: TlsMaterial, host?: string): ConnectionOptions {
  const bare = host?.replace(/^\[(.*)\]$/, '$1');
  return {
    ca: m.caPem,
    cert: m.certPem,
    key: m.keyPem,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    ciphers: TLS13_CIPHERSUITES,
    ...(bare === undefined ? {} : { host: bare, servername: isIP(bare) !== 0 ? '' : bare }),
  };
}
