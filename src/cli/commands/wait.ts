// jobctl wait ID: blocks until the job ends; exits with its status (code, or 128 + signal).
import type { Argv } from 'yargs';
import { shellExitStatus } from '../../jobs/signals.ts';
import { connect, type GlobalArgs } from '../context.ts';
import { out } from '../io.ts';
import { parseJobId } from '../job-id.ts';

/** yargs definition of `wait`. */
export const waitCommand = {
  command: 'wait <id>',
  describe: 'wait for a job to end; exit with its status (128 + signal number when a signal ended it)',
  builder: (y: Argv<GlobalArgs>) => y.positional('id', { type: 'string', describe: 'job id' }).option('json', { type: 'boolean', default: false, describe: 'print the final job as JSON' }).example('$0 wait "$(jobctl run -- make)" && echo built', 'use the status in a script'),
  handler: async (args: GlobalArgs & { id: string }): Promise<number> => {
    const id = parseJobId(args.id);
    const connection = await connect(args);
    const job = await connection.call('job.wait', { id });
    if (args.json) out(JSON.stringify(job, null, 2));
    return job.state === 'failed' || job.state === 'lost' ? 1 : shellExitStatus(job.exitCode, job.signal);
  },
};
