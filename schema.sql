-- The jobctl database schema: the ONE source of it. src/store/migrate.ts applies it.
--
-- Each section headed `-- migration N: title` is one migration. On open, every section whose N is
-- greater than the database's PRAGMA user_version runs in its own transaction, which then sets
-- user_version = N. Rules for editing:
--   * never change a section that has shipped: add a new section with the next number;
--   * numbers start at 1 and go up by one;
--   * no PRAGMAs that cannot run inside a transaction (auto_vacuum, journal_mode: see database.ts).
-- Times are epoch milliseconds. JSON columns hold text written by JSON.stringify.

-- migration 1: jobs, log chunks, audit trail, certificates

CREATE TABLE jobs (
  -- AUTOINCREMENT: ids of deleted jobs (retention) are never handed out again, so "job 7" always
  -- means the same job.
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  owner             TEXT    NOT NULL,
  name              TEXT,
  argv              TEXT    NOT NULL,  -- JSON array of strings
  cwd               TEXT    NOT NULL,
  env               TEXT    NOT NULL,  -- JSON object
  limits            TEXT    NOT NULL,  -- JSON object (rpc/model.ts Limits)
  state             TEXT    NOT NULL DEFAULT 'running'
                    CHECK (state IN ('running', 'exited', 'stopped', 'failed', 'lost')),
  exit_code         INTEGER,
  signal            TEXT,
  oom_killed        INTEGER NOT NULL DEFAULT 0 CHECK (oom_killed IN (0, 1)),
  reason            TEXT,
  pid               INTEGER,
  pid_start_time    TEXT,               -- /proc/PID/stat starttime: tells a reused pid apart
  cgroup_key        TEXT,
  created_at        INTEGER NOT NULL,
  started_at        INTEGER,
  ended_at          INTEGER,
  cpu_usec          INTEGER,
  memory_peak_bytes INTEGER,
  -- Log accounting, kept in the same transaction as the chunks it describes.
  log_stored_bytes  INTEGER NOT NULL DEFAULT 0,
  log_dropped_bytes INTEGER NOT NULL DEFAULT 0,  -- removed by the cap, or lost to a failed write
  log_drop_reason   TEXT,                        -- each distinct cause once, joined by '; '
  log_trimmed_seq   INTEGER NOT NULL DEFAULT 0   -- chunks with seq <= this were removed by the cap
);

-- `ps` of one user, newest first, and paging by id.
CREATE INDEX jobs_owner_id ON jobs (owner, id);
-- running jobs (reconciliation on restart) and state filters; the rowid rides along for ORDER BY id.
CREATE INDEX jobs_state ON jobs (state);

-- A job's output: one row per chunk. `seq` orders stdout and stderr together; `pos` is the offset of
-- the chunk's first byte in everything the job wrote (dropped bytes included), so a reader that sees a
-- hole in seq knows exactly how many bytes fell into it. `data` is last so that the metadata sits
-- in front of the blob in the record: readers that skip a stream never load its overflow pages.
CREATE TABLE log_chunks (
  job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  seq    INTEGER NOT NULL,
  stream INTEGER NOT NULL CHECK (stream IN (1, 2)),
  at     INTEGER NOT NULL,
  pos    INTEGER NOT NULL,
  data   BLOB    NOT NULL,
  PRIMARY KEY (job_id, seq)
);

-- Who did what, when: every state-changing call. Admins read it.
CREATE TABLE audit (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  at      INTEGER NOT NULL,
  actor   TEXT    NOT NULL,
  role    TEXT    NOT NULL,
  action  TEXT    NOT NULL,
  target  TEXT,
  details TEXT    NOT NULL DEFAULT '{}'  -- JSON object
);

-- Client certificates the CA issued, and their revocation. Serials are in canonical form (lowercase
-- hex without leading zeros: rpc/roles.ts normalizeSerial), so forge's and OpenSSL's spellings meet.
CREATE TABLE certs (
  serial     TEXT    PRIMARY KEY,
  user_name  TEXT    NOT NULL,
  role       TEXT    NOT NULL,
  not_after  INTEGER NOT NULL,
  issued_at  INTEGER NOT NULL,
  issued_by  TEXT    NOT NULL,
  revoked_at INTEGER,
  revoked_by TEXT
);

CREATE INDEX certs_user ON certs (user_name);

-- migration 2: per-stream index of log chunks

-- `logs --tail N` walks each stream's chunks backwards on its own: without this index, a stream with
-- fewer than N lines made the lookup visit every chunk of the other stream back to the first one.
-- An entry is a few dozen bytes against a chunk of up to 256 KiB.
CREATE INDEX log_chunks_stream ON log_chunks (job_id, stream, seq);
