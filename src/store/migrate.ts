// Versioned migrations out of the one schema file: sections headed `-- migration N: title`, applied
// in order above PRAGMA user_version, each in its own transaction.
import type Database from 'better-sqlite3';
import { JobctlError } from '../rpc/errors.ts';

/** One section of the schema file. */
export interface Migration {
  version: number;
  title: string;
  sql: string;
}

const HEADER = /^-- migration (\d+): *(.*?) *$/gm;

/**
 * Splits schema text into its migrations. Numbers must run 1, 2, 3 … without gaps: a schema file
 * that breaks that rule is a bug in jobctl, reported as INTERNAL rather than half-applied.
 */
export function parseMigrations(text: string): Migration[] {
  const headers = [...text.matchAll(HEADER)];
  const out: Migration[] = [];
  headers.forEach((m, i) => {
    const version = Number(m[1]);
    if (version !== i + 1) {
      throw new JobctlError('INTERNAL', `schema: migration ${version} ("${m[2] ?? ''}") is out of order: expected migration ${i + 1}`);
    }
    const start = m.index + m[0].length;
    const end = headers[i + 1]?.index ?? text.length;
    out.push({ version, title: m[2] ?? '', sql: text.slice(start, end) });
  });
  if (out.length === 0) throw new JobctlError('INTERNAL', 'schema: no "-- migration N: title" section found');
  return out;
}

/** The database's schema version (PRAGMA user_version; 0 for a new file). */
export function schemaVersionOf(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Refuses a database written by a newer jobctl. Called before anything writes to the file, so the
 * newer data is never touched.
 */
export function assertNotNewer(db: Database.Database, known: number, file: string): void {
  const version = schemaVersionOf(db);
  if (version > known) {
    throw new JobctlError(
      'CONFLICT',
      `database ${file} has schema version ${version}, newer than this jobctl knows (${known}): ` +
        'upgrade jobctl, or point JOBCTL_HOME at another directory',
      { details: { file, version, known } },
    );
  }
}

/**
 * Applies every migration above the database's user_version; returns the versions applied.
 * Each runs in an IMMEDIATE transaction that re-reads user_version first, so two processes opening
 * a new file at once apply each migration exactly once.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[], file: string): number[] {
  const known = migrations.at(-1)?.version ?? 0;
  assertNotNewer(db, known, file);
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= schemaVersionOf(db)) continue;
    const apply = db.transaction(() => {
      if (m.version <= schemaVersionOf(db)) return false;
      db.exec(m.sql);
      // user_version is part of the database header, so it commits or rolls back with the DDL.
      db.pragma(`user_version = ${m.version}`);
      return true;
    });
    try {
      if (apply.immediate()) applied.push(m.version);
    } catch (err) {
      throw new JobctlError(
        'INTERNAL',
        `database ${file}: migration ${m.version} ("${m.title}") failed, nothing of it was applied: ${(err as Error).message}`,
        { cause: err, details: { file, version: m.version } },
      );
    }
  }
  return applied;
}
