// Following a job to its end: stream its output, then read its final state. Ctrl-C detaches (the job
// keeps running); a closed stdout (| head) ends quietly.
import type { Connection } from '../../client/connection.ts';
import type { JobInfo } from '../../rpc/model.ts';
import { logSink, type LogFormat } from '../log-output.ts';
import { whenPipeClosed } from '../io.ts';

/** Streams job output until it ends; resolves with the final job, or null when detached/pipe closed. */
export async function followJob(
  connection: Connection,
  id: number,
  options: { format: LogFormat; tailLines?: number; streams?: Array<'stdout' | 'stderr'> },
): Promise<JobInfo | null> {
  const detached = new Promise<null>((resolve) => {
    process.once('SIGINT', () => resolve(null));
    void whenPipeClosed().then(() => resolve(null));
  });
  const { done } = await connection.streamLogs(
    { id, follow: true, ...(options.tailLines !== undefined ? { tailLines: options.tailLines } : {}), ...(options.streams ? { streams: options.streams } : {}) },
    logSink(options.format),
  );
  const ended = await Promise.race([done.then(() => true), detached]);
  if (ended === null) return null;
  return connection.call('job.wait', { id });
}
