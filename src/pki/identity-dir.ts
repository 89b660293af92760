// An identity directory: what a client needs to reach a daemon (`--identity DIR`). It holds exactly
// ca.crt (to check the daemon), client.crt and client.key (to prove who we are).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { JobctlError } from '../rpc/errors.ts';
import { CERT_MODE, KEY_MODE, ensurePrivateDir, readTextIfExists, writeFileAtomic } from './files.ts';
import { inspectCert, keyMatches } from './inspect.ts';

/** File names inside an identity directory. */
export const IDENTITY_FILES = { ca: 'ca.crt', cert: 'client.crt', key: 'client.key' } as const;

/** The PEMs of one identity. */
export interface IdentityPems {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const EXPECTED = `an identity directory holds ${IDENTITY_FILES.ca}, ${IDENTITY_FILES.cert} and ${IDENTITY_FILES.key}, as written by "jobctl certs issue --out DIR"`;

/**
 * Writes an identity to dir: created 0700 if missing (an existing directory keeps its mode: it may
 * be one the user chose), key 0600, certificates 0644, each write atomic. Refuses with CONFLICT to
 * replace an existing identity unless overwrite is set.
 */
export function writeIdentity(dir: string, pems: IdentityPems, opts: { overwrite?: boolean } = {}): { dir: string; files: string[] } {
  const paths = identityPaths(dir);
  if (!opts.overwrite) {
    const present = Object.values(paths).filter((p) => existsSync(p));
    if (present.length > 0) {
      throw new JobctlError('CONFLICT', `${dir} already holds an identity (${present.join(', ')}); choose another directory or remove it first`, {
        details: { dir },
      });
    }
  }
  ensurePrivateDir(dir, { tighten: false });
  // Key first: a crash then leaves no certificate without its key.
  writeFileAtomic(paths.key, pems.keyPem, KEY_MODE);
  writeFileAtomic(paths.ca, pems.caPem, CERT_MODE);
  writeFileAtomic(paths.cert, pems.certPem, CERT_MODE);
  return { dir, files: [paths.ca, paths.cert, paths.key] };
}

/** Reads and checks an identity: NOT_FOUND naming a missing file, INVALID_ARGUMENT for bad content. */
export function readIdentity(dir: string): IdentityPems {
  const pems = readIdentityFiles(dir);
  checkIdentity(dir, pems);
  return pems;
}

/**
 * Reads an identity's three files without looking inside (NOT_FOUND naming a missing one). For the
 * connect path of every CLI command: parsing both certificates and the key here costs ≈ 2 ms that
 * the TLS handshake spends again anyway; checkIdentity explains a handshake that failed.
 */
export function readIdentityFiles(dir: string): IdentityPems {
  const paths = identityPaths(dir);
  const read = (path: string): string => {
    const text = readTextIfExists(path);
    if (text === null) throw new JobctlError('NOT_FOUND', `${path} does not exist: ${EXPECTED}`, { details: { path } });
    return text;
  };
  return { caPem: read(paths.ca), certPem: read(paths.cert), keyPem: read(paths.key) };
}

/** Throws INVALID_ARGUMENT naming the file of dir that is not what it should be; returns if all are good. */
export function checkIdentity(dir: string, { caPem, certPem, keyPem }: IdentityPems): void {
  const paths = identityPaths(dir);
  const bad = (path: string, what: string) => new JobctlError('INVALID_ARGUMENT', `${path} ${what}: ${EXPECTED}`, { details: { path } });
  if (!inspectCert(caPem)) throw bad(paths.ca, 'is not a PEM certificate');
  const cert = inspectCert(certPem);
  if (!cert) throw bad(paths.cert, 'is not a PEM certificate');
  try {
    createPrivateKey(keyPem);
  } catch {
    throw bad(paths.key, 'is not a PEM private key (encrypted keys are not supported)');
  }
  if (!keyMatches(cert.x509, keyPem)) throw bad(paths.key, `is not the key of ${paths.cert}`);
}

/** The three file paths of the identity in dir. */
export function identityPaths(dir: string): { ca: string; cert: string; key: string } {
  return { ca: join(dir, IDENTITY_FILES.ca), cert: join(dir, IDENTITY_FILES.cert), key: join(dir, IDENTITY_FILES.key) };
}
