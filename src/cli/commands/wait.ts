// jobctl wait ID: blocks until the job ends; exits with its status (code, or 128 + signal).
import type { Argv } from 'yargs';
import { connect, type GlobalArgs } from '../context.ts';
import { note, out } from '../io.ts';
import { jobOutcome } from '../job-outcome.ts';
import { parseJobId } from '../job-id.ts';

/** yargs definition of `wait`. */
export const waitCommand = {
  command: 'wait <id>',
  describe: 'wait for a job to end; exit with its status (128 + signal number when a signal ended it; 1, with the reason on stderr, for a job that failed to start or was lost)',
  builder: (y: Argv<GlobalArgs>) => y.positional('id', { type: 'string', describe: 'job id' }).option('json', { type: 'boolean', default: false, describe: 'print the final job as JSON' }).example('$0 wait "$(jobctl run -- make)" && echo built', 'use the status in a script'),
  handler: async (args: GlobalArgs & { id: string }): Promise<number> => {
    const id = parseJobId(args.id);
    const connection = await connect(args);
    const job = await connection.call('job.wait', { id });
    if (args.json) out(JSON.stringify(job, null, 2));
    // A failed or lost job has no status of its own: 1, and stderr says which and why.
    const outcome = jobOutcome(job);
    if (outcome.note) note(outcome.note);
    return outcome.status;
  },
};
