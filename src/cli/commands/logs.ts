// jobctl logs ID [-f] [--tail N] [--stream S] [--timestamps] [--json]: the job's output, raw.
import type { Argv } from 'yargs';
import { tailLines } from '../../rpc/fields.ts';
import { connect, type GlobalArgs } from '../context.ts';
import { whenPipeClosed } from '../io.ts';
import { renameFields, wholeNumberFlag } from '../flag-values.ts';
import { parseJobId } from '../job-id.ts';
import { logSink, type LogFormat } from '../log-output.ts';

/** yargs definition of `logs`. */
export const logsCommand = {
  command: 'logs <id>',
  describe: "a job's output: stdout to stdout, stderr to stderr, byte for byte",
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('id', { type: 'string', describe: 'job id' })
      .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'keep streaming until the job ends (Ctrl-C detaches)' })
      // A string, checked by wholeNumberFlag: yargs' number type would turn "abc" into NaN.
      .option('tail', { type: 'string', describe: 'start with the last N lines, 0 to 1000000 (0: only new output, with -f)' })
      .option('stream', { type: 'string', choices: ['stdout', 'stderr', 'both'], default: 'both', describe: 'which output to show' })
      .option('timestamps', { alias: 't', type: 'boolean', default: false, describe: 'prefix each line with the time it was captured' })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON object per chunk: {stream, time, seq, data} (base64 with "encoding" when not UTF-8)' })
      .example('$0 logs -f 7 | grep ERROR', 'follow job 7 through a filter')
      .example('$0 logs --tail 100 --stream stderr 7', 'the last 100 lines of stderr'),
  handler: async (args: GlobalArgs & { id: string; follow: boolean; tail?: string; stream: string; timestamps: boolean; json: boolean }): Promise<number> => {
    const id = parseJobId(args.id);
    const tail = args.tail === undefined ? undefined : wholeNumberFlag('--tail', args.tail, tailLines);
    const format: LogFormat = args.json ? 'json' : args.timestamps ? 'timestamps' : 'raw';
    const connection = await connect(args);
    const streams = args.stream === 'both' ? undefined : [args.stream as 'stdout' | 'stderr'];
    const { done } = await renameFields(
      connection.streamLogs({ id, follow: args.follow, ...(tail !== undefined ? { tailLines: tail } : {}), ...(streams ? { streams } : {}) }, logSink(format)),
      tail === undefined ? [] : [{ field: 'tailLines', flag: '--tail', typed: String(args.tail), sent: tail }],
    );
    // Ctrl-C detaches (the job goes on); a reader closing the pipe ends quietly.
    const interrupted = new Promise<number>((resolve) => process.once('SIGINT', () => resolve(130)));
    return Promise.race([done.then(() => 0), interrupted, whenPipeClosed().then(() => 0)]);
  },
};
