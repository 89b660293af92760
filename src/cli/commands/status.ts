// jobctl status ID [--json]: state, result, limits, usage.
import type { Argv } from 'yargs';
import type { JobInfo } from '../../rpc/model.ts';
import { formatBytes } from '../../rpc/parse-size.ts';
import { connect, type GlobalArgs } from '../context.ts';
import { displayCommand, formatDuration, runtimeMs, safeText, statusText } from '../../display/format.ts';
import { out } from '../io.ts';
import { parseJobId } from '../job-id.ts';

/** yargs definition of `status`. */
export const statusCommand = {
  command: 'status <id>',
  describe: "a job's state, result, limits and usage",
  builder: (y: Argv<GlobalArgs>) => y.positional('id', { type: 'string', describe: 'job id' }).option('json', { type: 'boolean', default: false, describe: 'print the job as one JSON object' }).example('$0 status 7 --json', 'machine-readable status'),
  handler: async (args: GlobalArgs & { id: string }): Promise<number> => {
    const id = parseJobId(args.id);
    const connection = await connect(args);
    const job = await connection.call('job.get', { id });
    out(args.json ? JSON.stringify(job, null, 2) : renderStatus(job));
    return 0;
  },
};

/** The human form of one job. */
export function renderStatus(job: JobInfo): string {
  const limits = Object.entries(job.limits)
    .map(([k, v]) => `${k}=${k === 'cpu' || k === 'pids' ? v : formatBytes(v as number)}${k.startsWith('io') ? '/s' : ''}`)
    .join(' ');
  const ms = runtimeMs(job);
  const lines: Array<[string, string]> = [
    ['id', String(job.id)],
    ['name', job.name ? safeText(job.name) : '-'],
    ['owner', safeText(job.owner)],
    ['status', safeText(statusText(job))],
    ['command', displayCommand(job.argv)],
    ['cwd', safeText(job.cwd)],
    ['pid', job.pid === null ? '-' : String(job.pid)],
    ['limits', limits || 'none'],
    ['created', job.createdAt],
    ['started', job.startedAt ?? '-'],
    ['ended', job.endedAt ?? '-'],
    ['runtime', ms === null ? '-' : formatDuration(ms)],
    ['cpu time', formatDuration(job.usage.cpuUsec / 1000)],
    ['memory', `${job.state === 'running' ? `${formatBytes(job.usage.memoryBytes)} now, ` : ''}peak ${job.usage.memoryPeakBytes === null ? '-' : formatBytes(job.usage.memoryPeakBytes)}`],
    ['processes', String(job.usage.pids)],
    ['output', `${formatBytes(job.log.storedBytes)} stored${job.log.droppedBytes ? `, ${formatBytes(job.log.droppedBytes)} dropped (${job.log.dropReason ?? 'unknown'})` : ''}`],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
