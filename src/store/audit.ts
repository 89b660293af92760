// The audit trail: who did what, when. Every state-changing call is recorded; admins read it.
import type Database from 'better-sqlite3';
import { invalidArgument } from '../rpc/errors.ts';
import { integer } from '../rpc/validate.ts';

/** One state-changing call to record. */
export interface AuditEvent {
  /** The caller's user name (certificate CN). */
  actor: string;
  /** The caller's role (certificate O). */
  role: string;
  /** What was done, as the RPC method name (e.g. "job.stop"). */
  action: string;
  /** What it was done to (e.g. a job id or certificate serial), if anything. */
  target: string | null;
  details?: Record<string, unknown>;
}

/** A recorded event. `at` is epoch ms. */
export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  role: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
}

/** Records and lists audit entries. */
export interface AuditLog {
  /** Appends an entry stamped with the current time. */
  record(e: AuditEvent): void;
  /** Entries newest first; `beforeId` pages on from the last id seen. */
  list(q?: { limit?: number; beforeId?: number }): AuditEntry[];
}

/** Default page size of {@link AuditLog.list}. */
export const AUDIT_DEFAULT_LIMIT = 100;

const positive = integer(1, Number.MAX_SAFE_INTEGER);

/** The audit log over an open, migrated database; `now` is injectable for tests. */
export function createAuditLog(db: Database.Database, now: () => number = Date.now): AuditLog {
  const insert = db.prepare<[number, string, string, string, string | null, string]>(
    'INSERT INTO audit (at, actor, role, action, target, details) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const page = db.prepare<[number, number], Omit<AuditEntry, 'details'> & { details: string }>(
    'SELECT id, at, actor, role, action, target, details FROM audit WHERE id < ? ORDER BY id DESC LIMIT ?',
  );
  return {
    record(e) {
      let details: string;
      try {
        details = JSON.stringify(e.details ?? {});
      } catch (err) {
        throw invalidArgument('audit details', String(err), 'a JSON-serializable object');
      }
      insert.run(now(), e.actor, e.role, e.action, e.target, details);
    },
    list(q = {}) {
      const limit = positive(q.limit ?? AUDIT_DEFAULT_LIMIT, 'limit');
      const beforeId = positive(q.beforeId ?? Number.MAX_SAFE_INTEGER, 'beforeId');
      return page.all(beforeId, limit).map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
    },
  };
}
