// The jobs table: one row per job, from submission to its final state and result.
import type Database from 'better-sqlite3';
import { invalidArgument, JobctlError } from '../rpc/errors.ts';
import { JOB_STATES, type JobState, type Limits } from '../rpc/model.ts';
import { integer, oneOf } from '../rpc/validate.ts';

/** What the supervisor knows about a job before starting it. */
export interface NewJob {
  owner: string;
  name: string | null;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  limits: Limits;
  /** Epoch ms. */
  createdAt: number;
}

/** A stored job. Times are epoch ms. */
export interface JobRow {
  id: number;
  owner: string;
  name: string | null;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  limits: Limits;
  state: JobState;
  exitCode: number | null;
  signal: string | null;
  oomKilled: boolean;
  reason: string | null;
  pid: number | null;
  pidStartTime: string | null;
  cgroupKey: string | null;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  cpuUsec: number | null;
  memoryPeakBytes: number | null;
  logStoredBytes: number;
  logDroppedBytes: number;
  logDropReason: string | null;
}

/** Where a started job runs: what the supervisor needs to find it again after a restart. */
export interface JobStart {
  pid: number;
  pidStartTime: string | null;
  cgroupKey: string | null;
  startedAt: number;
}

/** How a job ended. */
export interface JobResult {
  state: Exclude<JobState, 'running'>;
  exitCode: number | null;
  signal: string | null;
  oomKilled: boolean;
  reason: string | null;
  endedAt: number;
  cpuUsec: number | null;
  memoryPeakBytes: number | null;
}

/** Filter and paging for {@link JobRepository.list}. */
export interface JobQuery {
  owner?: string;
  states?: JobState[];
  /** At most this many rows (default: all). */
  limit?: number;
  /** Only jobs with a smaller id: the next page after the last id seen. */
  beforeId?: number;
}

/** Reads and writes job rows. */
export interface JobRepository {
  /**
   * Stores a new job. Its state is already `running` ("being started"): a job is never in a
   * non-final state other than running, and the supervisor calls markStarted or markFinished next.
   */
  insert(job: NewJob): JobRow;
  /** Records the started process. CONFLICT when the job already ended, NOT_FOUND when unknown. */
  markStarted(id: number, s: JobStart): void;
  /** Records the result and final state; returns the final row. CONFLICT when already final. */
  markFinished(id: number, r: JobResult): JobRow;
  /** One job, or undefined when there is no such id. */
  get(id: number): JobRow | undefined;
  /** Jobs newest first (by id). */
  list(q?: JobQuery): JobRow[];
  /** Every job in state `running`, oldest first: what to reconcile after a restart. */
  running(): JobRow[];
}

interface DbJob {
  id: number;
  owner: string;
  name: string | null;
  argv: string;
  cwd: string;
  env: string;
  limits: string;
  state: JobState;
  exit_code: number | null;
  signal: string | null;
  oom_killed: number;
  reason: string | null;
  pid: number | null;
  pid_start_time: string | null;
  cgroup_key: string | null;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  cpu_usec: number | null;
  memory_peak_bytes: number | null;
  log_stored_bytes: number;
  log_dropped_bytes: number;
  log_drop_reason: string | null;
}

const COLUMNS = `id, owner, name, argv, cwd, env, limits, state, exit_code, signal, oom_killed, reason, pid,
  pid_start_time, cgroup_key, created_at, started_at, ended_at, cpu_usec, memory_peak_bytes,
  log_stored_bytes, log_dropped_bytes, log_drop_reason`;

function toRow(r: DbJob): JobRow {
  return {
    id: r.id,
    owner: r.owner,
    name: r.name,
    argv: JSON.parse(r.argv) as string[],
    cwd: r.cwd,
    env: JSON.parse(r.env) as Record<string, string>,
    limits: JSON.parse(r.limits) as Limits,
    state: r.state,
    exitCode: r.exit_code,
    signal: r.signal,
    oomKilled: r.oom_killed === 1,
    reason: r.reason,
    pid: r.pid,
    pidStartTime: r.pid_start_time,
    cgroupKey: r.cgroup_key,
    createdAt: r.created_at,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    cpuUsec: r.cpu_usec,
    memoryPeakBytes: r.memory_peak_bytes,
    logStoredBytes: r.log_stored_bytes,
    logDroppedBytes: r.log_dropped_bytes,
    logDropReason: r.log_drop_reason,
  };
}

const positive = integer(1, Number.MAX_SAFE_INTEGER);
const jobState = oneOf(JOB_STATES);

/** The repository over an open, migrated database. */
export function createJobRepository(db: Database.Database): JobRepository {
  const insertStmt = db.prepare<unknown[], DbJob>(
    `INSERT INTO jobs (owner, name, argv, cwd, env, limits, state, created_at)
     VALUES (?, ?, ?, ?, ?, ?, 'running', ?) RETURNING ${COLUMNS}`,
  );
  const getStmt = db.prepare<[number], DbJob>(`SELECT ${COLUMNS} FROM jobs WHERE id = ?`);
  const startStmt = db.prepare(
    `UPDATE jobs SET pid = @pid, pid_start_time = @pidStartTime, cgroup_key = @cgroupKey, started_at = @startedAt
     WHERE id = @id AND state = 'running'`,
  );
  const finishStmt = db.prepare<Record<string, unknown>, DbJob>(
    `UPDATE jobs SET state = @state, exit_code = @exitCode, signal = @signal, oom_killed = @oomKilled,
       reason = @reason, ended_at = @endedAt, cpu_usec = @cpuUsec, memory_peak_bytes = @memoryPeakBytes
     WHERE id = @id AND state = 'running' RETURNING ${COLUMNS}`,
  );
  const runningStmt = db.prepare<[], DbJob>(`SELECT ${COLUMNS} FROM jobs WHERE state = 'running' ORDER BY id`);

  // list() has a few shapes; each gets its own statement (prepared on first use, then kept) so the
  // planner can pick the owner or state index instead of scanning around "? IS NULL OR …".
  const listStmts = new Map<string, Database.Statement<Record<string, unknown>, DbJob>>();
  function listStatement(owner: boolean, states: boolean, before: boolean): Database.Statement<Record<string, unknown>, DbJob> {
    const key = `${+owner}${+states}${+before}`;
    let stmt = listStmts.get(key);
    if (stmt === undefined) {
      const where = [
        owner ? 'owner = @owner' : null,
        states ? 'state IN (SELECT value FROM json_each(@states))' : null,
        before ? 'id < @beforeId' : null,
      ].filter((w) => w !== null);
      stmt = db.prepare<Record<string, unknown>, DbJob>(
        `SELECT ${COLUMNS} FROM jobs ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`,
      );
      listStmts.set(key, stmt);
    }
    return stmt;
  }

  function missingOrFinal(id: number, doing: string): JobctlError {
    const row = getStmt.get(id);
    if (row === undefined) return new JobctlError('NOT_FOUND', `job ${id} does not exist`, { details: { id } });
    return new JobctlError('CONFLICT', `cannot ${doing} job ${id}: it is already ${row.state}`, { details: { id, state: row.state } });
  }

  // Writes with RETURNING are run with all(), never get(): in autocommit mode SQLite commits when the
  // statement halts, and get() stops at the first row and resets the statement — better-sqlite3 then
  // drops the commit's error, so on a full disk get() hands back a row that was never stored (seen in
  // test/reliability/disk-full.test.ts). all() steps to the halt, where a failed commit throws.
  return {
    insert(job) {
      const [row] = insertStmt.all(
        job.owner,
        job.name,
        JSON.stringify(job.argv),
        job.cwd,
        JSON.stringify(job.env),
        JSON.stringify(job.limits),
        job.createdAt,
      );
      if (row === undefined) throw new JobctlError('INTERNAL', 'inserting a job returned no row');
      return toRow(row);
    },

    markStarted(id, s) {
      const { changes } = startStmt.run({ id, ...s });
      if (changes === 0) throw missingOrFinal(id, 'mark as started');
    },

    markFinished(id, r) {
      const state = r.state as JobState; // checked at run time too: callers may hold an unchecked value
      if (!JOB_STATES.includes(state) || state === 'running') {
        throw invalidArgument('final state', state, 'one of exited, stopped, failed, lost');
      }
      const [row] = finishStmt.all({ id, ...r, oomKilled: r.oomKilled ? 1 : 0 });
      if (row === undefined) throw missingOrFinal(id, 'finish');
      return toRow(row);
    },

    get(id) {
      const row = getStmt.get(id);
      return row === undefined ? undefined : toRow(row);
    },

    list(q = {}) {
      if (q.limit !== undefined) positive(q.limit, 'limit');
      if (q.beforeId !== undefined) positive(q.beforeId, 'beforeId');
      for (const s of q.states ?? []) jobState(s, 'state');
      const stmt = listStatement(q.owner !== undefined, q.states !== undefined, q.beforeId !== undefined);
      const params: Record<string, unknown> = { limit: q.limit ?? -1 };
      if (q.owner !== undefined) params.owner = q.owner;
      if (q.states !== undefined) params.states = JSON.stringify(q.states);
      if (q.beforeId !== undefined) params.beforeId = q.beforeId;
      return stmt.all(params).map(toRow);
    },

    running() {
      return runningStmt.all().map(toRow);
    },
  };
}
