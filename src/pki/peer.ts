// Who is on the other end of a TLS connection, from the client certificate the handshake verified.
// The daemon's TLS server accepts unverified handshakes (see tls.ts) so that it can say WHY a client
// is refused; authenticateSocket is where that refusal happens, before anything is served.
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { JobctlError } from '../rpc/errors.ts';
import { ROLES, isRole, isUserName, normalizeSerial, type Caller } from '../rpc/roles.ts';

/** A caller as identified by its certificate. */
export interface PeerIdentity extends Caller {
  /** Canonical lowercase hex: the key for revocation. */
  serial: string;
  /** ISO 8601. */
  notAfter: string;
}

/**
 * The identity of a verified TLS socket. Throws UNAUTHENTICATED, explaining in words the user can act
 * on, when the handshake did not verify the client certificate (none, foreign CA, expired, not yet
 * valid, not a client certificate), and what identityFromPeerCertificate throws. Revocation is not
 * checked here: look the serial up in the store.
 */
export function authenticateSocket(socket: TLSSocket): PeerIdentity {
  const cert = socket.getPeerCertificate();
  const presented = cert !== null && typeof cert === 'object' && Object.keys(cert).length > 0;
  if (!presented) {
    throw new JobctlError('UNAUTHENTICATED', 'no client certificate was presented: connect with an identity directory (--identity DIR holding ca.crt, client.crt, client.key)');
  }
  if (!socket.authorized) {
    throw new JobctlError('UNAUTHENTICATED', explainAuthorizationError(String(socket.authorizationError ?? 'unknown'), cert), {
      details: { reason: String(socket.authorizationError ?? 'unknown') },
    });
  }
  // A resumed TLS session keeps the verdict of the handshake that created it, possibly an hour ago:
  // the dates are checked again here so a certificate that has expired since is refused all the same.
  const now = Date.now();
  if (Date.parse(cert.valid_to) < now) throw new JobctlError('UNAUTHENTICATED', explainAuthorizationError('CERT_HAS_EXPIRED', cert), { details: { reason: 'CERT_HAS_EXPIRED' } });
  if (Date.parse(cert.valid_from) > now) throw new JobctlError('UNAUTHENTICATED', explainAuthorizationError('CERT_NOT_YET_VALID', cert), { details: { reason: 'CERT_NOT_YET_VALID' } });
  return identityFromPeerCertificate(cert);
}

/**
 * The caller named by a (verified) peer certificate: CN = user, O = role. Throws UNAUTHENTICATED when
 * there is no certificate or no valid user name, PERMISSION_DENIED when the role is not one of ours.
 */
export function identityFromPeerCertificate(cert: PeerCertificate): PeerIdentity {
  if (!cert || typeof cert !== 'object' || !cert.subject) throw new JobctlError('UNAUTHENTICATED', 'no client certificate was presented');
  // A subject field that occurs twice arrives as an array: ambiguous, so refused.
  const cn: unknown = cert.subject.CN;
  const o: unknown = cert.subject.O;
  if (!isUserName(cn)) {
    throw new JobctlError('UNAUTHENTICATED', `the client certificate's subject CN ${JSON.stringify(cn ?? null)} is not a jobctl user name`);
  }
  if (!isRole(o)) {
    throw new JobctlError(
      'PERMISSION_DENIED',
      `the client certificate of ${cn} carries role ${JSON.stringify(o ?? null)} (subject O); jobctl roles are ${ROLES.join(', ')}: ask an admin for a new certificate`,
    );
  }
  const serial = normalizeSerial(String(cert.serialNumber ?? ''));
  if (serial === null) throw new JobctlError('UNAUTHENTICATED', `the client certificate of ${cn} has no readable serial number`);
  const notAfter = new Date(cert.valid_to);
  return { user: cn, role: o, serial, notAfter: Number.isNaN(notAfter.getTime()) ? String(cert.valid_to) : notAfter.toISOString() };
}

// OpenSSL verification codes (as Node reports them in socket.authorizationError), in words.
function explainAuthorizationError(code: string, cert: PeerCertificate): string {
  const who = typeof cert.subject?.CN === 'string' ? `the client certificate of ${cert.subject.CN}` : 'the client certificate';
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return `${who} expired on ${cert.valid_to}: ask an admin for a new one (jobctl certs issue)`;
    case 'CERT_NOT_YET_VALID':
      return `${who} is not valid before ${cert.valid_from}: check the clocks of client and daemon`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'CERT_SIGNATURE_FAILURE':
      return `${who} was not issued by this daemon's CA (${code}): use an identity issued by this daemon (jobctl certs issue)`;
    case 'INVALID_PURPOSE':
      return `${who} is not a client certificate (its extended key usage lacks clientAuth)`;
    case 'CERT_REVOKED':
      return `${who} has been revoked`;
    default:
      return `${who} was refused (${code})`;
  }
}
