// The registry of issued client certificates and their revocation (the TLS layer asks isRevoked).
import type Database from 'better-sqlite3';
import { invalidArgument, JobctlError } from '../rpc/errors.ts';
import { normalizeSerial, SERIAL_RULE } from '../rpc/roles.ts';

/** An issued certificate. Times are epoch ms. */
export interface CertRecord {
  /** Canonical serial: lowercase hex, no separators or leading zeros (rpc/roles.ts normalizeSerial). */
  serial: string;
  user: string;
  role: string;
  notAfter: number;
  issuedAt: number;
  issuedBy: string;
  revokedAt: number | null;
}

/** Issued certificates and revocations. */
export interface CertRegistry {
  /** Records a certificate the CA issued; CONFLICT when the serial is known already. */
  recordIssued(c: { serial: string; user: string; role: string; notAfter: number; issuedBy: string }): void;
  /** Every recorded certificate, oldest first. */
  list(): CertRecord[];
  /**
   * Revokes one certificate (`serial`) or all of a user's (`user`); returns the serials revoked by
   * this call (already revoked ones are left as they were). NOT_FOUND when nothing matches.
   */
  revoke(q: { serial?: string; user?: string }, by: string): string[];
  /** True when the serial was revoked. Unknown serials are not revoked (the CA signature decides). */
  isRevoked(serial: string): boolean;
}

/** The stored spelling of a serial (rpc/roles.ts normalizeSerial), or INVALID_ARGUMENT. */
function canonicalSerial(serial: string): string {
  const canonical = normalizeSerial(serial);
  if (canonical === null) throw invalidArgument('serial', serial, SERIAL_RULE);
  return canonical;
}

interface DbCert {
  serial: string;
  user_name: string;
  role: string;
  not_after: number;
  issued_at: number;
  issued_by: string;
  revoked_at: number | null;
}

/** The registry over an open, migrated database; `now` is injectable for tests. */
export function createCertRegistry(db: Database.Database, now: () => number = Date.now): CertRegistry {
  const insert = db.prepare('INSERT INTO certs (serial, user_name, role, not_after, issued_at, issued_by) VALUES (?, ?, ?, ?, ?, ?)');
  const all = db.prepare<[], DbCert>('SELECT serial, user_name, role, not_after, issued_at, issued_by, revoked_at FROM certs ORDER BY issued_at, serial');
  const bySerial = db.prepare<[string], { revoked_at: number | null }>('SELECT revoked_at FROM certs WHERE serial = ?');
  const countByUser = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM certs WHERE user_name = ?');
  const revokeSerial = db.prepare<[number, string, string], { serial: string }>(
    'UPDATE certs SET revoked_at = ?, revoked_by = ? WHERE serial = ? AND revoked_at IS NULL RETURNING serial',
  );
  const revokeUser = db.prepare<[number, string, string], { serial: string }>(
    'UPDATE certs SET revoked_at = ?, revoked_by = ? WHERE user_name = ? AND revoked_at IS NULL RETURNING serial',
  );

  return {
    recordIssued(c) {
      const serial = canonicalSerial(c.serial);
      try {
        insert.run(serial, c.user, c.role, c.notAfter, now(), c.issuedBy);
      } catch (err) {
        if ((err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT') === true) {
          throw new JobctlError('CONFLICT', `a certificate with serial ${serial} is already recorded`, { cause: err, details: { serial } });
        }
        throw err;
      }
    },
    list() {
      return all.all().map((r) => ({
        serial: r.serial,
        user: r.user_name,
        role: r.role,
        notAfter: r.not_after,
        issuedAt: r.issued_at,
        issuedBy: r.issued_by,
        revokedAt: r.revoked_at,
      }));
    },
    revoke(q, by) {
      if ((q.serial === undefined) === (q.user === undefined)) {
        throw invalidArgument('revocation', q, 'exactly one of serial and user');
      }
      if (q.serial !== undefined) {
        const serial = canonicalSerial(q.serial);
        if (bySerial.get(serial) === undefined) {
          throw new JobctlError('NOT_FOUND', `no certificate with serial ${serial} was issued`, { details: { serial } });
        }
        return revokeSerial.all(now(), by, serial).map((r) => r.serial);
      }
      const user = q.user ?? '';
      if ((countByUser.get(user)?.n ?? 0) === 0) {
        throw new JobctlError('NOT_FOUND', `no certificate was issued to user ${JSON.stringify(user)}`, { details: { user } });
      }
      return revokeUser.all(now(), by, user).map((r) => r.serial).sort();
    },
    isRevoked(serial) {
      const canonical = normalizeSerial(serial);
      return canonical !== null && (bySerial.get(canonical)?.revoked_at ?? null) !== null;
    },
  };
}
