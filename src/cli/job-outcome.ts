// What `run -f` and `wait` report for a job that has ended: its own exit status (128 + the signal
// number when a signal ended it, as shells do), or — for a job that never ran or was lost, which has
// none — status 1 and a line on stderr saying which and why, so a script's log is not left silent.
import { shellExitStatus } from '../jobs/signals.ts';
import type { JobInfo } from '../rpc/model.ts';
import { safeText } from '../display/format.ts';

/** The exit status for an ended job, and the explanation to print on stderr when it has none. */
export function jobOutcome(job: Pick<JobInfo, 'id' | 'state' | 'exitCode' | 'signal' | 'reason'>): { status: number; note: string | null } {
  if (job.state === 'failed') return { status: 1, note: `jobctl: job ${job.id} failed to start: ${safeText(job.reason ?? 'unknown reason')}` };
  if (job.state === 'lost') {
    return { status: 1, note: `jobctl: job ${job.id} was lost, it has no exit status: ${safeText(job.reason ?? 'the daemon ended while it ran')}` };
  }
  return { status: shellExitStatus(job.exitCode, job.signal), note: null };
}
