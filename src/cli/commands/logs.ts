// jobctl logs ID [-f] [--tail N] [--stream S] [--timestamps] [--json]: the job's output, raw.
import type { Argv } from 'yargs';
import { invalidArgument } from '../../rpc/errors.ts';
import { connect, type GlobalArgs } from '../context.ts';
import { whenPipeClosed } from '../io.ts';
import { parseJobId } from '../job-id.ts';
import { logSink, type LogFormat } from '../log-output.ts';

/** Most lines --tail takes (the daemon's bound). */
const MAX_TAIL_LINES = 1_000_000;

/** yargs definition of `logs`. */
export const logsCommand = {
  command: 'logs <id>',
  describe: "a job's output: stdout to stdout, stderr to stderr, byte for byte",
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('id', { type: 'string', describe: 'job id' })
      .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'keep streaming until the job ends (Ctrl-C detaches)' })
      .option('tail', { type: 'number', describe: 'start with the last N lines (0: only new output, with -f)' })
      .option('stream', { type: 'string', choices: ['stdout', 'stderr', 'both'], default: 'both', describe: 'which output to show' })
      .option('timestamps', { alias: 't', type: 'boolean', default: false, describe: 'prefix each line with the time it was captured' })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON object per chunk: {stream, time, seq, data} (base64 with "encoding" when not UTF-8)' })
      .example('$0 logs -f 7 | grep ERROR', 'follow job 7 through a filter')
      .example('$0 logs --tail 100 --stream stderr 7', 'the last 100 lines of stderr'),
  handler: async (args: GlobalArgs & { id: string; follow: boolean; tail?: number; stream: string; timestamps: boolean; json: boolean }): Promise<number> => {
    const id = parseJobId(args.id);
    if (args.tail !== undefined && (!Number.isInteger(args.tail) || args.tail < 0 || args.tail > MAX_TAIL_LINES)) {
      throw invalidArgument('--tail', args.tail, `a whole number of lines from 0 to ${MAX_TAIL_LINES}`);
    }
    const format: LogFormat = args.json ? 'json' : args.timestamps ? 'timestamps' : 'raw';
    const connection = await connect(args);
    const streams = args.stream === 'both' ? undefined : [args.stream as 'stdout' | 'stderr'];
    const { done } = await connection.streamLogs(
      { id, follow: args.follow, ...(args.tail !== undefined ? { tailLines: args.tail } : {}), ...(streams ? { streams } : {}) },
      logSink(format),
    );
    // Ctrl-C detaches (the job goes on); a reader closing the pipe ends quietly.
    const interrupted = new Promise<number>((resolve) => process.once('SIGINT', () => resolve(130)));
    return Promise.race([done.then(() => 0), interrupted, whenPipeClosed().then(() => 0)]);
  },
};
