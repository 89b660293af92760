// The client's check of the daemon's certificate, done by us instead of by OpenSSL during the
// handshake. Why: a TLS context given a CA (`ca: …`) makes Node 20 build its whole bundled root store
// first (≈ 140 certificates parsed, 25–30 ms of every CLI command on our test host: docs/BENCHMARKS.md
// "CLI"), only to compare a pointer — and that store is no use to us, since a daemon is trusted
// through the identity's own CA alone. So the CLI's context holds no CA (`ca: []`, which Node takes as
// "none"), lets the handshake finish unverified (rejectUnauthorized: false), and nothing is sent on the
// socket until this check has passed.
//
// What it checks is what OpenSSL checks for the one-level chain the daemon's PKI issues (the server
// certificate is signed directly by the CA): the issuer and the signature, the dates of both, that the
// CA is a CA and the server certificate is not, its extended key usage, and the host name or address
// (Node's own checkServerIdentity). The TLS 1.3 handshake has already proved that the server holds the
// key of the certificate it presented (CertificateVerify), checked or not. A resumed session shows
// no certificate; the caller trusts it through the ticket (client/dial.ts).
import { X509Certificate } from 'node:crypto';
import { checkServerIdentity, type PeerCertificate, type TLSSocket } from 'node:tls';

/** id-kp-serverAuth. */
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/** An Error with the code OpenSSL or Node would have given, so that messages stay the same. */
function refused(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/**
 * Null when the certificate the daemon presented on socket (after 'secureConnect') is issued by
 * caPem and valid for host at now; else an Error whose code says why (UNABLE_TO_VERIFY_LEAF_SIGNATURE,
 * CERT_HAS_EXPIRED, CERT_NOT_YET_VALID, INVALID_CA, INVALID_PURPOSE, ERR_TLS_CERT_ALTNAME_INVALID).
 */
export function daemonCertificateProblem(socket: TLSSocket, caPem: string, host: string, now = Date.now()): NodeJS.ErrnoException | null {
  // Not getPeerX509Certificate(): on a client socket Node 20 takes the certificate out of the peer
  // chain it reads from, and getPeerCertificate() (which checkServerIdentity needs) is empty after.
  const presented = socket.getPeerCertificate();
  if (!presented?.raw) return refused('UNABLE_TO_GET_ISSUER_CERT', 'the server presented no certificate');
  const peer = new X509Certificate(presented.raw);
  let ca: X509Certificate;
  try {
    ca = new X509Certificate(caPem);
  } catch (err) {
    return refused('INVALID_CA', `the identity's ca.crt cannot be read: ${(err as Error).message}`);
  }
  if (!ca.ca) return refused('INVALID_CA', "the identity's ca.crt is not a CA certificate");
  if (!peer.checkIssued(ca) || !peer.verify(ca.publicKey)) return refused('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate');
  for (const [cert, what] of [
    [peer, 'certificate'],
    [ca, 'CA certificate'],
  ] as const) {
    if (now < Date.parse(cert.validFrom)) return refused('CERT_NOT_YET_VALID', `the server's ${what} is not yet valid (from ${cert.validFrom})`);
    if (now > Date.parse(cert.validTo)) return refused('CERT_HAS_EXPIRED', `the server's ${what} has expired (${cert.validTo})`);
  }
  if (peer.ca) return refused('INVALID_PURPOSE', 'the server presented a CA certificate');
  const usages = peer.keyUsage;
  if (Array.isArray(usages) && !usages.includes(SERVER_AUTH)) return refused('INVALID_PURPOSE', 'the server certificate is not for TLS servers (extended key usage)');
  const identity = checkServerIdentity(host, presented as PeerCertificate);
  return identity ? (identity as NodeJS.ErrnoException) : null;
}
