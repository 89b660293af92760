// The job model both ends speak: what a job is, its limits, states and results.
// Pure types and constants; no I/O (rpc/ is the bottom layer and is imported by every other one).

/** Resource limits of one job; an absent field means "no limit". */
export interface Limits {
  /** CPU cores, fractional allowed (0.5 = half a core). */
  cpu?: number;
  /** Memory in bytes (RAM; swap may not be used to escape it). */
  memory?: number;
  /** Maximum number of processes/threads alive at once. */
  pids?: number;
  /** Read bandwidth in bytes per second on the disk that holds the job's cwd. */
  ioRead?: number;
  /** Write bandwidth in bytes per second on the disk that holds the job's cwd. */
  ioWrite?: number;
}

/** The names of all limits, in display order. */
export const LIMIT_NAMES = ['cpu', 'memory', 'pids', 'ioRead', 'ioWrite'] as const;

/** One limit's name. */
export type LimitName = (typeof LIMIT_NAMES)[number];

/** Lifecycle state of a job. `running` is the only non-final state. */
export type JobState = 'running' | 'exited' | 'stopped' | 'failed' | 'lost';

/** All job states. */
export const JOB_STATES: readonly JobState[] = ['running', 'exited', 'stopped', 'failed', 'lost'];

/** Output streams of a job; `1` and `2` match the file descriptors. */
export type StreamId = 1 | 2;

/** Usage figures of a job: live while it runs, final once it ended. */
export interface Usage {
  /** CPU time (user + system) in microseconds. */
  cpuUsec: number;
  /** Memory in use now, in bytes (0 once ended). */
  memoryBytes: number;
  /** Highest memory use seen, in bytes (null when the host cannot tell). */
  memoryPeakBytes: number | null;
  /** Processes alive now (0 once ended). */
  pids: number;
}

/** What a job looks like to clients: `status --json` prints exactly this object. */
export interface JobInfo {
  id: number;
  name: string | null;
  owner: string;
  state: JobState;
  argv: string[];
  cwd: string;
  limits: Limits;
  /** Exit code when the main process exited, else null. */
  exitCode: number | null;
  /** Signal name (e.g. "SIGKILL") when a signal ended the main process, else null. */
  signal: string | null;
  /** True when the kernel's OOM killer killed any process of the job. */
  oomKilled: boolean;
  /** Why the job failed to start (state `failed`) or was lost; else null. */
  reason: string | null;
  /** Main process id while running (and after, for reference); null if it never started. */
  pid: number | null;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  usage: Usage;
  /** Bytes of output stored and bytes dropped (log cap or a full disk). */
  log: { storedBytes: number; droppedBytes: number; dropReason: string | null };
  /**
   * Present (true) when `argv` is a shortened summary: job lists and job.changed events carry at most
   * ARGV_SUMMARY_BYTES of it (rpc/job-view.ts); `job.get` (`status`) always has the whole argv.
   */
  argvTruncated?: true;
}

/** What a client asks for when it starts a job. */
export interface JobSpec {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  limits: Limits;
  name?: string | null;
}

/** True when the state is final (the job will not change any more). */
export function isFinal(state: JobState): boolean {
  return state !== 'running';
}
