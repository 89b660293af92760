// Certificate issuance with node-forge: a CA, server certificates and client certificates.
// forge signs with RSA only, and its pure-JS key generation takes ~2 s, so keys come from Node's
// crypto (RSA 2048, ~100 ms) and are imported into forge for signing (SHA-256).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { invalidArgument } from '../rpc/errors.ts';
import { checkRole, checkUserName, type Role } from '../rpc/roles.ts';
import { parseServerNames } from './names.ts';

/** A certificate with its private key (PEM; the key is PKCS#8) and serial (lowercase hex). */
export interface CertBundle {
  certPem: string;
  keyPem: string;
  serial: string;
  /** ISO 8601. */
  notAfter: string;
}

/** The CA as issue functions need it. */
export interface CaMaterial {
  certPem: string;
  keyPem: string;
}

/**
 * Deliberately wrong certificates, for tests of refusals only (a daemon must reject them).
 * Never reachable from the CLI or an RPC.
 */
export interface TestOverrides {
  notBefore?: Date;
  notAfter?: Date;
  /** Replaces the extended key usage (e.g. serverAuth on a client certificate). */
  extKeyUsage?: Array<'serverAuth' | 'clientAuth'>;
  /** Raw subject CN, bypassing the user-name check. */
  commonName?: string;
  /** Raw subject O, bypassing the role check. */
  organization?: string;
}

/** Default lifetimes in days. */
export const DEFAULT_DAYS = { ca: 3650, server: 365, client: 365 } as const;

// Clients and the daemon rarely agree on the clock to the second; a fresh certificate must work
// at once on a machine a few minutes behind.
const CLOCK_SKEW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
const UTF8 = forge.asn1.Type.UTF8 as unknown as forge.asn1.Class;

/** Creates a self-signed CA: basicConstraints CA:true (critical), keyUsage keyCertSign + cRLSign. */
export function createCa(opts: { commonName: string; days?: number }): CertBundle {
  const days = checkDays(opts.days ?? DEFAULT_DAYS.ca, 36500);
  if (opts.commonName.length === 0 || opts.commonName.length > 64) throw invalidArgument('commonName', opts.commonName, '1-64 characters');
  const keys = newKeyPair();
  const subject = [{ shortName: 'CN', value: opts.commonName, valueTagClass: UTF8 }];
  const cert = baseCert(keys.publicKeyPem, days, {});
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  return sign(cert, keys.privateKeyPem, keys.privateKeyPem);
}

/** Issues a server certificate for DNS names and IP literals (extKeyUsage serverAuth only). */
export function issueServerCert(ca: CaMaterial, opts: { names: readonly string[]; days?: number; testOverrides?: TestOverrides }): CertBundle {
  const days = checkDays(opts.days ?? DEFAULT_DAYS.server, 3650);
  const sans = parseServerNames(opts.names);
  if (sans.length === 0) throw invalidArgument('names', opts.names, 'at least one DNS name or IP address');
  const o = opts.testOverrides ?? {};
  const altNames = sans.map((s) =>
    s.kind === 'dns' ? { type: 2, value: s.name } : { type: 7, value: forge.util.binary.raw.encode(s.bytes) },
  );
  return issue(ca, {
    days,
    overrides: o,
    subject: [{ shortName: 'CN', value: o.commonName ?? 'jobctl daemon', valueTagClass: UTF8 }],
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      extKeyUsage(o.extKeyUsage ?? ['serverAuth']),
      { name: 'subjectAltName', altNames },
    ],
  });
}

/** Issues a client certificate: subject CN = user, O = role; extKeyUsage clientAuth only. */
export function issueClientCert(
  ca: CaMaterial,
  opts: { user: string; role: Role; days?: number; testOverrides?: TestOverrides },
): CertBundle {
  const o = opts.testOverrides ?? {};
  const user = o.commonName ?? checkUserName(opts.user);
  const role = o.organization ?? checkRole(opts.role);
  const days = checkDays(opts.days ?? DEFAULT_DAYS.client, 3650);
  return issue(ca, {
    days,
    overrides: o,
    subject: [
      { shortName: 'CN', value: user, valueTagClass: UTF8 },
      { shortName: 'O', value: role, valueTagClass: UTF8 },
    ],
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      extKeyUsage(o.extKeyUsage ?? ['clientAuth']),
    ],
  });
}

/**
 * A random positive 16-byte serial as 32 lowercase hex digits. The first byte is kept in 0x10..0x7f:
 * positive (DER INTEGER sign bit clear), never a leading zero byte (OpenSSL rejects non-minimal
 * INTEGERs) nor a leading zero digit, so this text equals the canonical form normalizeSerial gives.
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = 0x10 + ((bytes[0] ?? 0) % 0x70);
  return bytes.toString('hex');
}

interface IssueSpec {
  days: number;
  overrides: TestOverrides;
  subject: forge.pki.CertificateField[];
  extensions: object[];
}

function issue(ca: CaMaterial, spec: IssueSpec): CertBundle {
  const caCert = parseCa(ca);
  const keys = newKeyPair();
  const cert = baseCert(keys.publicKeyPem, spec.days, spec.overrides);
  cert.setSubject(spec.subject);
  // The issuer must equal the CA's subject byte for byte for chain building: reuse its attributes.
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    ...spec.extensions,
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  return sign(cert, ca.keyPem, keys.privateKeyPem);
}

function baseCert(publicKeyPem: string, days: number, o: TestOverrides): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  cert.serialNumber = randomSerial();
  // Whole seconds: that is what the certificate stores, so notAfter reads back equal.
  const now = Math.floor(Date.now() / 1000) * 1000;
  cert.validity.notBefore = o.notBefore ?? new Date(now - CLOCK_SKEW_MS);
  cert.validity.notAfter = o.notAfter ?? new Date(now + days * DAY_MS);
  return cert;
}

function sign(cert: forge.pki.Certificate, signerKeyPem: string, keyPem: string): CertBundle {
  cert.sign(forge.pki.privateKeyFromPem(signerKeyPem), forge.md.sha256.create());
  return {
    certPem: forge.pki.certificateToPem(cert),
    keyPem,
    serial: cert.serialNumber,
    notAfter: cert.validity.notAfter.toISOString(),
  };
}

function parseCa(ca: CaMaterial): forge.pki.Certificate {
  try {
    return forge.pki.certificateFromPem(ca.certPem);
  } catch {
    throw invalidArgument('ca.certPem', ca.certPem.slice(0, 40), 'a PEM certificate (the daemon CA, ca.crt)');
  }
}

function newKeyPair(): { publicKeyPem: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

function extKeyUsage(usages: ReadonlyArray<'serverAuth' | 'clientAuth'>): object {
  return { name: 'extKeyUsage', serverAuth: usages.includes('serverAuth'), clientAuth: usages.includes('clientAuth') };
}

function checkDays(days: number, max: number): number {
  if (!Number.isInteger(days) || days < 1 || days > max) throw invalidArgument('days', days, `an integer from 1 to ${max}`);
  return days;
}
