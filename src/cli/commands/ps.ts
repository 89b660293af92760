// jobctl ps [--all] [--state S] [--json]: jobs, newest first.
import type { Argv } from 'yargs';
import { JOB_STATES, type JobInfo, type JobState } from '../../rpc/model.ts';
import { listLimit } from '../../rpc/fields.ts';
import { formatBytes } from '../../rpc/parse-size.ts';
import { connect, type GlobalArgs } from '../context.ts';
import { displayCommand, formatDuration, palette, runtimeMs, safeText, statusText, table, truncate, useColor } from '../../display/format.ts';
import { wholeNumberFlag } from '../flag-values.ts';
import { out } from '../io.ts';

/** yargs definition of `ps`. */
export const psCommand = {
  command: 'ps',
  describe: 'list jobs, newest first (yours; --all: every user, for admin and viewer)',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('all', { alias: 'a', type: 'boolean', default: false, describe: "include every user's jobs" })
      .option('state', { type: 'string', array: true, choices: JOB_STATES as JobState[], describe: 'only jobs in these states' })
      .option('limit', { type: 'string', default: '1000', describe: 'at most this many jobs (1 to 10000)' })
      .option('json', { type: 'boolean', default: false, describe: 'print a JSON array of jobs' })
      .example('$0 ps --state running', 'jobs running now'),
  handler: async (args: GlobalArgs & { all: boolean; state?: JobState[]; limit: string }): Promise<number> => {
    const limit = wholeNumberFlag('--limit', args.limit, listLimit);
    const connection = await connect(args);
    const jobs = await connection.call('job.list', { all: args.all, limit, ...(args.state ? { states: args.state } : {}) });
    if (args.json) {
      out(JSON.stringify(jobs, null, 2));
      return 0;
    }
    out(renderJobTable(jobs, useColor(process.stdout)));
    return 0;
  },
};

/** Widest STATUS cell: a long failure reason is cut here (`jobctl status ID` shows all of it). */
const STATUS_WIDTH = 48;

/** The human table of jobs. */
export function renderJobTable(jobs: JobInfo[], color: boolean): string {
  const c = palette(color);
  const stateColor = (j: JobInfo) => (j.state === 'running' ? c.cyan : j.state === 'exited' && j.exitCode === 0 && !j.oomKilled ? c.green : j.state === 'exited' || j.state === 'stopped' ? c.yellow : c.red);
  const rows = jobs.map((j) => {
    const ms = runtimeMs(j);
    const mem = j.state === 'running' ? j.usage.memoryBytes : j.usage.memoryPeakBytes;
    return [
      String(j.id),
      stateColor(j)(truncate(safeText(statusText(j)), STATUS_WIDTH)),
      safeText(j.owner),
      ms === null ? '-' : formatDuration(ms),
      formatDuration(j.usage.cpuUsec / 1000),
      mem === null ? '-' : formatBytes(mem) + (j.limits.memory ? `/${formatBytes(j.limits.memory)}` : ''),
      j.name ? safeText(j.name) : displayCommand(j.argv),
    ];
  });
  return table(['ID', 'STATUS', 'OWNER', 'RUNTIME', 'CPU', 'MEMORY', 'NAME/COMMAND'], rows, { header: c.bold }).trimEnd();
}
