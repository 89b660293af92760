import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { isJobctlError } from '../../src/rpc/errors.ts';
import { migrate, MIGRATIONS, openStore, parseMigrations, SCHEMA_VERSION } from '../../src/store/index.ts';
import { addJob, tempDir } from './helpers.ts';

function sha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function schemaOf(db: Database.Database): string {
  return db
    .prepare<[], { sql: string }>("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name")
    .all()
    .map((r) => r.sql)
    .join('\n');
}

test('a fresh database gets the whole schema, its version and the connection settings', (t) => {
  const file = join(tempDir(t), 'jobctl.db');
  const store = openStore(file);
  try {
    const { db } = store;
    assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
    assert.ok(SCHEMA_VERSION >= 1);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all().map((r) => r.name);
    for (const name of ['audit', 'certs', 'jobs', 'log_chunks']) assert.ok(tables.includes(name), `table ${name} in ${tables.join(', ')}`);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('auto_vacuum', { simple: true }), 2, 'auto_vacuum=INCREMENTAL took effect before the first table');
    assert.equal(db.pragma('synchronous', { simple: true }), 1, 'synchronous=NORMAL');
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    assert.ok((db.pragma('busy_timeout', { simple: true }) as number) > 0);
  } finally {
    store.close();
  }
});

test('the database file and its WAL are private (mode 0600), even under a strict umask', (t) => {
  const file = join(tempDir(t), 'jobctl.db');
  const old = process.umask(0o277);
  let store;
  try {
    store = openStore(file);
  } finally {
    process.umask(old);
  }
  try {
    addJob(store); // something in the WAL
    assert.equal(statSync(file).mode & 0o777, 0o600);
    for (const side of ['-wal', '-shm']) {
      assert.ok(existsSync(file + side), `${side} exists while open`);
      assert.equal(statSync(file + side).mode & 0o777, 0o600, `${side} mode`);
    }
  } finally {
    store.close();
  }
});

test('reopening an up-to-date database changes nothing', (t) => {
  const file = join(tempDir(t), 'jobctl.db');
  const first = openStore(file);
  const job = addJob(first);
  const schema = schemaOf(first.db);
  first.close();
  const second = openStore(file);
  try {
    assert.deepEqual(migrate(second.db, MIGRATIONS, file), [], 'no migration applied');
    assert.equal(schemaOf(second.db), schema);
    assert.equal(second.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    assert.deepEqual(second.jobs.get(job.id), job);
  } finally {
    second.close();
  }
});

test('a database from a newer jobctl is refused with a coded error and left untouched', (t) => {
  const file = join(tempDir(t), 'jobctl.db');
  const store = openStore(file);
  addJob(store);
  store.db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  store.close(); // checkpoints: the file alone holds everything
  assert.equal(existsSync(file + '-wal'), false);
  const before = sha(file);
  assert.throws(
    () => openStore(file),
    (err: unknown) => {
      assert.ok(isJobctlError(err));
      assert.equal(err.code, 'CONFLICT');
      assert.match(err.message, new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this jobctl knows \\(${SCHEMA_VERSION}\\)`));
      assert.ok(err.message.includes(file), 'names the file');
      return true;
    },
  );
  assert.equal(sha(file), before, 'file bytes unchanged');
  assert.equal(existsSync(file + '-wal'), false, 'not even a WAL was created');
});

test('a file that is not a database gets a coded error naming it', (t) => {
  const file = join(tempDir(t), 'jobctl.db');
  writeFileSync(file, 'this is not sqlite, just some text that is long enough to look like a header....');
  assert.throws(
    () => openStore(file),
    (err: unknown) => isJobctlError(err) && err.code === 'INTERNAL' && err.message.includes(file) && /not a database/.test(err.message),
  );
});

const V1 = `-- preamble comments are ignored
-- migration 1: first
CREATE TABLE a (x INTEGER);
-- migration 2: second
CREATE TABLE b (y INTEGER);
INSERT INTO a VALUES (2);
`;

test('migrations run in order, only those above user_version, each in its own transaction', (t) => {
  const file = join(tempDir(t), 'm.db');
  const db = new Database(file);
  t.after(() => db.close());
  const two = parseMigrations(V1);
  assert.deepEqual(
    two.map((m) => [m.version, m.title]),
    [
      [1, 'first'],
      [2, 'second'],
    ],
  );
  assert.deepEqual(migrate(db, two.slice(0, 1), file), [1]);
  assert.equal(db.pragma('user_version', { simple: true }), 1);
  assert.deepEqual(migrate(db, two, file), [2], 'only the new one');
  assert.deepEqual(db.prepare('SELECT x FROM a').all(), [{ x: 2 }]);

  // A failing migration leaves nothing behind: not its first statement, not the version.
  const broken = parseMigrations(`${V1}-- migration 3: broken\nCREATE TABLE c (z INTEGER);\nINSERT INTO nowhere VALUES (1);\n`);
  assert.throws(
    () => migrate(db, broken, file),
    (err: unknown) => isJobctlError(err) && err.code === 'INTERNAL' && /migration 3 \("broken"\) failed, nothing of it was applied: no such table: nowhere/.test(err.message),
  );
  assert.equal(db.pragma('user_version', { simple: true }), 2);
  const tableC = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'c'").get();
  assert.equal(tableC?.n, 0, 'table c rolled back');
});

test('a schema file with gaps or no sections is a bug, reported as such', () => {
  assert.throws(() => parseMigrations('-- migration 1: a\nSELECT 1;\n-- migration 3: c\nSELECT 1;'), /migration 3 \("c"\) is out of order: expected migration 2/);
  assert.throws(() => parseMigrations('CREATE TABLE x (y);'), /no "-- migration N: title" section/);
});
