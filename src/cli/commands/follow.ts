// Following a job to its end: stream its output, then read its final state. Ctrl-C detaches (the job
// keeps running); a closed stdout (| head) ends quietly.
import type { Connection } from '../../client/connection.ts';
import type { JobInfo } from '../../rpc/model.ts';
import { logSink, type LogFormat } from '../log-output.ts';
import { whenPipeClosed } from '../io.ts';

/** Why following stopped before the job ended: Ctrl-C, or the reader closed stdout. */
export type Detached = 'interrupted' | 'pipe-closed';

/** Streams job output until it ends; resolves with the final job, or why it stopped following first. */
export async function followJob(
  connection: Connection,
  id: number,
  options: { format: LogFormat; tailLines?: number; streams?: Array<'stdout' | 'stderr'> },
): Promise<JobInfo | Detached> {
  const detached = new Promise<Detached>((resolve) => {
    process.once('SIGINT', () => resolve('interrupted'));
    void whenPipeClosed().then(() => resolve('pipe-closed'));
  });
  // Asked up front, not after the output ends: the answer then comes while the daemon still serves us
  // (a daemon shutting down answers waits, then closes connections) and costs no extra round trip.
  const final = connection.call('job.wait', { id });
  final.catch(() => undefined); // awaited below unless detached
  const { done } = await connection.streamLogs(
    { id, follow: true, ...(options.tailLines !== undefined ? { tailLines: options.tailLines } : {}), ...(options.streams ? { streams: options.streams } : {}) },
    logSink(options.format),
  );
  // The job's end and the end of its output, in either order: the status is reported after all output.
  const ended = await Promise.race([Promise.all([done, final]).then(() => null), detached]);
  return ended ?? final;
}
