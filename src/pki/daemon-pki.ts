// The daemon's own PKI directory. First start: a CA, a server certificate and an admin identity for
// the local user. Later starts: load them, and reissue what is derived (server certificate, admin
// identity) when it no longer fits; the CA itself is never replaced silently, since replacing it
// invalidates every certificate issued so far.
//
//   <dir>/            0700
//     ca.key          0600   the CA's private key
//     ca.crt
//     server.key      0600
//     server.crt      SANs: localhost, 127.0.0.1, ::1, host name, extra names
//     admin/          0700   identity directory for the local user (role admin)
//       ca.crt  client.crt  client.key (0600)
//
// Call it while holding the daemon's lock: two processes creating a CA at once would each write one.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { JobctlError } from '../rpc/errors.ts';
import { checkUserName } from '../rpc/roles.ts';
import { createCa, issueClientCert, issueServerCert, type CertBundle } from './certs.ts';
import { CERT_MODE, KEY_MODE, ensurePrivateDir, readTextIfExists, writeFileAtomic } from './files.ts';
import { identityPaths, writeIdentity } from './identity-dir.ts';
import { coversNames, expiresWithin, inspectCert, issuedBy, keyMatches, subjectOf, type CertFacts } from './inspect.ts';
import { defaultServerNames, parseServerNames } from './names.ts';

/** Reissue a derived certificate when it expires within this many days. */
export const RENEW_BEFORE_DAYS = 30;

/** Options of ensureDaemonPki. */
export interface DaemonPkiOptions {
  /** The OS user starting the daemon; gets the admin identity. */
  localUser: string;
  /** Names beyond localhost, 127.0.0.1, ::1 and the host name (e.g. from --listen or config). */
  extraNames?: readonly string[];
  /** The store's revocation check: a revoked admin identity is replaced. */
  isRevoked?: (serial: string) => boolean;
}

/** What ensureDaemonPki found or made. */
export interface DaemonPki {
  dir: string;
  paths: { caCert: string; caKey: string; serverCert: string; serverKey: string; adminDir: string };
  ca: CertBundle;
  server: CertBundle & { names: string[] };
  /** The local admin identity; register its serial in the store when created.admin is true. */
  admin: { dir: string; user: string; role: 'admin'; serial: string; notAfter: string; certPem: string };
  /** What this call wrote (false: loaded as it was). */
  created: { ca: boolean; server: boolean; admin: boolean };
}

/** Creates or loads (and repairs) the daemon PKI in dir; see the file comment for the layout. */
export function ensureDaemonPki(dir: string, opts: DaemonPkiOptions): DaemonPki {
  const localUser = checkUserName(opts.localUser, 'localUser');
  const names = parseServerNames(defaultServerNames(opts.extraNames ?? [])).map((s) => s.name);
  const paths = {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    adminDir: join(dir, 'admin'),
  };
  ensurePrivateDir(dir, { tighten: true });

  const { ca, created: caCreated } = loadOrCreateCa(paths);
  const caFacts = inspectCert(ca.certPem) as CertFacts;

  let server = loadPair(paths.serverCert, paths.serverKey);
  const serverOk =
    server !== null && issuedBy(server.facts.x509, caFacts.x509) && coversNames(server.facts.x509, names) && !expiresWithin(server.facts, RENEW_BEFORE_DAYS);
  if (server === null || !serverOk) {
    const issued = issueServerCert(ca, { names });
    writeFileAtomic(paths.serverKey, issued.keyPem, KEY_MODE);
    writeFileAtomic(paths.serverCert, issued.certPem, CERT_MODE);
    server = { bundle: issued, facts: inspectCert(issued.certPem) as CertFacts };
  }

  ensurePrivateDir(paths.adminDir, { tighten: true });
  const adminFiles = identityPaths(paths.adminDir);
  let admin = loadPair(adminFiles.cert, adminFiles.key);
  const subject = admin ? subjectOf(admin.facts.x509) : {};
  const adminOk =
    admin !== null &&
    issuedBy(admin.facts.x509, caFacts.x509) &&
    subject.cn === localUser &&
    subject.o === 'admin' &&
    !expiresWithin(admin.facts, RENEW_BEFORE_DAYS) &&
    !(opts.isRevoked?.(admin.facts.serial) ?? false);
  if (admin === null || !adminOk) {
    const issued = issueClientCert(ca, { user: localUser, role: 'admin' });
    writeIdentity(paths.adminDir, { caPem: ca.certPem, certPem: issued.certPem, keyPem: issued.keyPem }, { overwrite: true });
    admin = { bundle: issued, facts: inspectCert(issued.certPem) as CertFacts };
  } else if (readTextIfExists(adminFiles.ca) !== ca.certPem) {
    writeFileAtomic(adminFiles.ca, ca.certPem, CERT_MODE);
  }

  return {
    dir,
    paths,
    ca,
    server: { ...server.bundle, names },
    admin: {
      dir: paths.adminDir,
      user: localUser,
      role: 'admin',
      serial: admin.bundle.serial,
      notAfter: admin.bundle.notAfter,
      certPem: admin.bundle.certPem,
    },
    created: { ca: caCreated, server: !serverOk, admin: !adminOk },
  };
}

type Paths = { caCert: string; caKey: string };

function loadOrCreateCa(paths: Paths): { ca: CertBundle; created: boolean } {
  const certPem = readTextIfExists(paths.caCert);
  const keyPem = readTextIfExists(paths.caKey);
  // ca.crt is written last, so a key without a certificate is a creation that crashed half-way:
  // nothing can have been issued from it, and starting over is safe.
  if (certPem === null) {
    const ca = createCa({ commonName: `jobctl CA ${hostname()}`.slice(0, 64) });
    writeFileAtomic(paths.caKey, ca.keyPem, KEY_MODE);
    writeFileAtomic(paths.caCert, ca.certPem, CERT_MODE);
    return { ca, created: true };
  }
  const aside = `restore it from a backup, or move ${paths.caCert.replace(/\/ca\.crt$/, '')} aside to start a new CA (every certificate issued so far then stops working)`;
  if (keyPem === null) throw new JobctlError('INTERNAL', `${paths.caCert} exists but ${paths.caKey} is missing: ${aside}`);
  const facts = inspectCert(certPem);
  if (!facts) throw new JobctlError('INTERNAL', `${paths.caCert} is not a PEM certificate: ${aside}`);
  if (!keyMatches(facts.x509, keyPem)) throw new JobctlError('INTERNAL', `${paths.caKey} is not the key of ${paths.caCert}: ${aside}`);
  if (!facts.x509.ca) throw new JobctlError('INTERNAL', `${paths.caCert} is not a CA certificate: ${aside}`);
  if (expiresWithin(facts, 0)) {
    throw new JobctlError('INTERNAL', `the jobctl CA in ${paths.caCert} expired on ${facts.notAfter.toISOString()}: move its directory aside to start a new CA, then issue new client certificates`);
  }
  return { ca: { certPem, keyPem, serial: facts.serial, notAfter: facts.notAfter.toISOString() }, created: false };
}

// A certificate and its key from disk, or null when either is missing, unreadable as PEM, or mismatched.
function loadPair(certPath: string, keyPath: string): { bundle: CertBundle; facts: CertFacts } | null {
  const certPem = readTextIfExists(certPath);
  const keyPem = readTextIfExists(keyPath);
  if (certPem === null || keyPem === null) return null;
  const facts = inspectCert(certPem);
  if (!facts || !keyMatches(facts.x509, keyPem)) return null;
  return { bundle: { certPem, keyPem, serial: facts.serial, notAfter: facts.notAfter.toISOString() }, facts };
}
