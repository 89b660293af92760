// Reading certificates back with Node's own X.509 parser (OpenSSL): the same code that will verify
// them in the TLS handshake, so "covers this name" and "issued by this CA" mean what TLS means.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';
import { normalizeSerial } from '../rpc/roles.ts';

/** A parsed certificate with the fields jobctl looks at. */
export interface CertFacts {
  x509: X509Certificate;
  /** Canonical lowercase hex. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/** Parses a PEM certificate; null when it is not one. */
export function inspectCert(pem: string): CertFacts | null {
  try {
    const x509 = new X509Certificate(pem);
    return {
      x509,
      serial: normalizeSerial(x509.serialNumber) ?? x509.serialNumber.toLowerCase(),
      notBefore: new Date(x509.validFrom),
      notAfter: new Date(x509.validTo),
    };
  } catch {
    return null;
  }
}

/** True when the certificate's subjectAltNames cover every name (DNS by host match, IPs by address). */
export function coversNames(x509: X509Certificate, names: readonly string[]): boolean {
  return names.every((raw) => {
    const name = raw.replace(/^\[(.*)\]$/, '$1');
    return isIP(name) !== 0 ? x509.checkIP(name) !== undefined : x509.checkHost(name, { subject: 'never' }) !== undefined;
  });
}

/** True when keyPem is the private key of the certificate. */
export function keyMatches(x509: X509Certificate, keyPem: string): boolean {
  try {
    return x509.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** True when cert names ca as issuer and ca's key verifies its signature. */
export function issuedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  try {
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** True when the certificate is expired or expires within days of now. */
export function expiresWithin(facts: CertFacts, days: number, now = Date.now()): boolean {
  return facts.notAfter.getTime() - now < days * 24 * 60 * 60 * 1000;
}

/** The subject's CN and O, as single strings (undefined when absent). */
export function subjectOf(x509: X509Certificate): { cn?: string; o?: string } {
  const out: { cn?: string; o?: string } = {};
  for (const line of x509.subject.split('\n')) {
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    if (key === 'CN') out.cn = line.slice(eq + 1);
    if (key === 'O') out.o = line.slice(eq + 1);
  }
  return out;
}
