// Submits a parsed batch over one connection, many job.start calls in flight at once: one process
// and one TLS handshake for the whole batch instead of one per job (see docs/BENCHMARKS.md,
// "submission throughput"). Ids are printed in the order of the input lines.
import type { Connection } from '../client/connection.ts';
import { safeText } from '../display/format.ts';
import { MAX_IN_FLIGHT } from '../rpc/protocol.ts';
import type { JobInfo } from '../rpc/model.ts';
import type { BatchJob } from './batch-spec.ts';
import { note, write } from './io.ts';

/** Calls in flight at once: enough to keep the daemon busy, well under its per-connection cap. */
const WINDOW = Math.min(32, MAX_IN_FLIGHT / 2);

/**
 * Starts every job; resolves with the exit status: 0 when all started, 1 when one could not start
 * (its id is still printed) or the daemon refused one (no later line is submitted then; the lines
 * already started keep running and their ids are printed).
 */
export async function submitBatch(connection: Connection, jobs: BatchJob[], options: { json: boolean }): Promise<number> {
  const results: Array<JobInfo | undefined> = new Array(jobs.length);
  let printed = 0;
  let next = 0;
  // The first refusal by input line (calls in flight may be refused out of order).
  const refusal: { first: { line: number; error: Error } | null } = { first: null };
  let failedToStart = 0;

  /** Prints the job of line index (and says so on stderr when it could not start). */
  const emit = async (index: number): Promise<void> => {
    const job = results[index] as JobInfo;
    if (job.state === 'failed') {
      failedToStart++;
      note(`jobctl: line ${(jobs[index] as BatchJob).line}: job ${job.id} failed to start: ${safeText(job.reason ?? 'unknown reason')}`);
    }
    await write(process.stdout, options.json ? `${JSON.stringify(job)}\n` : `${job.id}\n`);
  };
  /** Prints, in input order, every answered line up to the first unanswered one. */
  const printReady = async (): Promise<void> => {
    while (printed < jobs.length && results[printed] !== undefined) await emit(printed++);
  };

  const refuse = (line: number, error: Error): void => {
    if (refusal.first === null || line < refusal.first.line) refusal.first = { line, error };
  };
  const worker = async (): Promise<void> => {
    while (refusal.first === null && next < jobs.length) {
      const index = next++;
      const job = jobs[index] as BatchJob;
      try {
        results[index] = await connection.call('job.start', job.spec);
      } catch (err) {
        refuse(job.line, err as Error);
        return;
      }
      await printReady();
    }
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW, jobs.length) }, worker));
  await printReady();
  // Lines after a refused one that were already in flight and started.
  for (let i = printed; i < jobs.length; i++) if (results[i] !== undefined) await emit(i);
  if (refusal.first !== null) {
    const { line, error } = refusal.first;
    const submitted = results.filter((job) => job !== undefined).length;
    note(`jobctl: line ${line}: ${safeText(error.message)}; ${submitted} of ${jobs.length} jobs were submitted (their ids are on stdout), the others were not`);
    return 1;
  }
  return failedToStart > 0 ? 1 : 0;
}
