// jobctl stop ID [--grace 10s]: SIGTERM to every process, then kill all after the grace period.
import type { Argv } from 'yargs';
import { graceMs as graceMsField } from '../../rpc/fields.ts';
import { parseDuration } from '../../rpc/parse-size.ts';
import { typedRange } from '../../rpc/ranges.ts';
import { connect, type GlobalArgs } from '../context.ts';
import { safeText, statusText } from '../../display/format.ts';
import { out } from '../io.ts';
import { checkFlag, renameFields } from '../flag-values.ts';
import { parseJobId } from '../job-id.ts';

/** yargs definition of `stop`. */
export const stopCommand = {
  command: 'stop <id>',
  describe: 'stop a job: SIGTERM to all its processes, then kill everything left after --grace',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('id', { type: 'string', describe: 'job id' })
      .option('grace', { type: 'string', describe: `time to exit after SIGTERM (${typedRange(graceMsField.range)}; default: the daemon's, 10s)` })
      .option('json', { type: 'boolean', default: false, describe: 'print the final job as JSON' })
      .example('$0 stop 7 --grace 2s', 'stop job 7, kill it after 2 s'),
  handler: async (args: GlobalArgs & { id: string; grace?: string }): Promise<number> => {
    const id = parseJobId(args.id);
    const graceMs = args.grace === undefined ? undefined : checkFlag('--grace', args.grace, parseDuration(args.grace, '--grace'), graceMsField);
    const connection = await connect(args);
    const job = await renameFields(
      connection.call('job.stop', { id, ...(graceMs !== undefined ? { graceMs } : {}) }),
      graceMs === undefined ? [] : [{ field: 'graceMs', flag: '--grace', typed: args.grace as string, sent: graceMs, range: graceMsField.range }],
    );
    out(args.json ? JSON.stringify(job, null, 2) : `job ${job.id} ${safeText(statusText(job))}`);
    return 0;
  },
};
