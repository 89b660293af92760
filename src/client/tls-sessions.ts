// TLS session tickets kept between CLI commands, so the next `jobctl ps` resumes the session instead
// of redoing the full mutual-TLS handshake (both certificate signatures and chain checks): ≈ 3 ms less
// per command (docs/BENCHMARKS.md, "CLI"). Who the client is stays checked on every connection: the
// daemon reads the certificate from the resumed session and checks its dates and revocation at each
// upgrade (pki/peer.ts, daemon/server.ts). A ticket is worth no more than the key beside which it is
// kept: one file per endpoint, CA and client certificate, 0600 in a 0700 directory of the user's cache.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { SESSION_TICKET_SECONDS } from '../pki/tls.ts';

/**
 * Part of every ticket's key. "2": since the CLI checks the daemon's certificate itself (pki/daemon-
 * check.ts), the session a ticket holds records OpenSSL's own verdict as failed (its TLS context has no
 * CA); a jobctl from before would read that verdict when it resumes, and refuse. It never finds these.
 */
const TICKET_FORMAT = 'jobctl-ticket-2';

/**
 * The ticket file for endpoint, the CA that vouches for the daemon and the client certificate, or
 * null when the user has no cache directory. The CA is part of the key because a resumed session is
 * not verified again: a ticket won while trusting one CA must not serve an identity trusting another.
 */
export function sessionFile(endpoint: string, identity: { caPem: string; certPem: string }, env: NodeJS.ProcessEnv = process.env): string | null {
  let base = env.XDG_CACHE_HOME;
  if (!base) {
    try {
      base = join(homedir(), '.cache');
    } catch {
      return null;
    }
  }
  const key = createHash('sha256').update(TICKET_FORMAT).update('\0').update(endpoint).update('\0').update(identity.caPem).update('\0').update(identity.certPem).digest('hex').slice(0, 32);
  return join(base, 'jobctl', 'tls-sessions', `${key}.session`);
}

/** The ticket saved in file, if any (a missing or unreadable file is no ticket). */
export function loadSession(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Saves ticket to file (temp name + rename: a concurrent command never reads half), and removes the
 * tickets of the directory that have expired — a daemon on port 0 has a new endpoint at each start,
 * so without this the directory would only grow. Best effort: a read-only or full cache only costs
 * the next command a full handshake.
 */
export function saveSession(file: string, ticket: Buffer, now = Date.now()): void {
  const dir = dirname(file);
  const partial = `${file}.${process.pid}`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(partial, ticket, { mode: 0o600 });
    renameSync(partial, file);
  } catch {
    removeQuietly(partial);
    return;
  }
  // Saving happens after full handshakes only (a resumed session keeps its ticket): rare enough to
  // look at the whole directory.
  try {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (path !== file && now - statSync(path).mtimeMs > SESSION_TICKET_SECONDS * 1000) removeQuietly(path);
    }
  } catch {
    // Another command pruning at the same time.
  }
}

/** Forgets the ticket in file (one the daemon or OpenSSL would not take). */
export function dropSession(file: string): void {
  removeQuietly(file);
}

function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // Not there, or not ours to remove: either way it is not read again by this command.
  }
}
