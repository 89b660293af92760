// Turns a stored job row (and live figures, while it runs) into the JobInfo clients see.
import type { JobInfo, Usage } from '../rpc/model.ts';
import type { JobRow } from '../store/index.ts';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Most characters of a reason a client is sent: reasons quote the command, which may be 128 KiB. */
const REASON_MAX_CHARS = 4096;

const boundedReason = (reason: string | null): string | null => (reason !== null && reason.length > REASON_MAX_CHARS ? `${reason.slice(0, REASON_MAX_CHARS)}…` : reason);

/** What the open log writer of a running job knows ahead of its row (a full disk can keep the row from being updated). */
export interface LiveLog {
  storedBytes: number;
  droppedBytes: number;
  dropReason: string | null;
}

/** The client view of a job; `live` carries current usage for a running job, `liveLog` its writer's figures. */
export function toJobInfo(row: JobRow, live?: Usage | null, liveLog?: LiveLog | null): JobInfo {
  const usage: Usage = live ?? {
    cpuUsec: row.cpuUsec ?? 0,
    memoryBytes: 0,
    memoryPeakBytes: row.memoryPeakBytes,
    pids: 0,
  };
  return {
    id: row.id,
    name: row.name,
    owner: row.owner,
    state: row.state,
    argv: row.argv,
    cwd: row.cwd,
    limits: row.limits,
    exitCode: row.exitCode,
    signal: row.signal,
    oomKilled: row.oomKilled,
    reason: boundedReason(row.reason),
    pid: row.pid,
    createdAt: new Date(row.createdAt).toISOString(),
    startedAt: iso(row.startedAt),
    endedAt: iso(row.endedAt),
    usage,
    log: liveLog
      ? { storedBytes: liveLog.storedBytes, droppedBytes: liveLog.droppedBytes, dropReason: liveLog.dropReason }
      : { storedBytes: row.logStoredBytes, droppedBytes: row.logDroppedBytes, dropReason: row.logDropReason },
  };
}
