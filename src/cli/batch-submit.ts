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

  const printReady = async (): Promise<void> => {
    while (printed < jobs.length && results[printed] !== undefined) {
      const job = results[printed] as JobInfo;
      if (job.state === 'failed') {
        failedToStart++;
        note(`jobctl: line ${(jobs[printed] as BatchJob).line}: job ${job.id} failed to start: ${safeText(job.reason ?? 'unknown reason')}`);
      }
      printed++;
      await write(process.stdout, options.json ? `${JSON.stringify(job)}\n` : `${job.id}\n`);
    }
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
  // Ids of lines after a refused one that were already in flight and started.
  const startedAfter = results.slice(printed).filter((job): job is JobInfo => job !== undefined);
  for (const job of startedAfter) await write(process.stdout, options.json ? `${JSON.stringify(job)}\n` : `${job.id}\n`);
  if (refusal.first !== null) {
    const { line, error } = refusal.first;
    note(`jobctl: line ${line}: ${safeText(error.message)}; ${printed + startedAfter.length} of ${jobs.length} jobs were submitted (their ids are on stdout), the others were not`);
    return 1;
  }
  return failedToStart > 0 ? 1 : 0;
}
