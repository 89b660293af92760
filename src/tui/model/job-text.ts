// The words and figures shown for a job: title, result, CPU, memory, limits. Pure; all user-supplied
// text (names, commands, owners, reasons) goes through safeText/displayCommand.
import { displayCommand, formatDuration, runtimeMs, safeText } from '../../display/format.ts';
import type { JobInfo, Limits } from '../../rpc/model.ts';
import { formatBytes } from '../../rpc/parse-size.ts';
import type { JobView } from './top-store.ts';

/** The job's name, else its command line. */
export function jobTitle(job: Pick<JobInfo, 'name' | 'argv'>): string {
  return job.name ? safeText(job.name) : displayCommand(job.argv);
}

/** True when the filter text is found (case-insensitive) in the name, command or owner. */
export function matchesFilter(job: Pick<JobInfo, 'name' | 'argv' | 'owner'>, filter: string): boolean {
  if (filter === '') return true;
  const needle = filter.toLowerCase();
  return [job.name ?? '', job.argv.join(' '), job.owner].some((field) => field.toLowerCase().includes(needle));
}

/** How the job ended, short: "code 0", "SIGTERM", "code 137 OOM", the failure; "" while running. */
export function resultText(job: Pick<JobInfo, 'state' | 'exitCode' | 'signal' | 'oomKilled' | 'reason'>): string {
  let text: string;
  switch (job.state) {
    case 'running':
      text = '';
      break;
    case 'exited':
    case 'stopped':
      text = job.signal !== null ? job.signal : `code ${job.exitCode ?? '?'}`;
      break;
    case 'failed':
      text = safeText(job.reason ?? 'could not start');
      break;
    case 'lost':
      text = 'daemon restarted';
      break;
  }
  return job.oomKilled ? `${text} OOM`.trim() : text;
}

/** CPU % now ("-" when unknown or not running). */
export function cpuText(view: JobView): string {
  if (view.job.state !== 'running' || view.usage.cpuPercent === null) return '-';
  const p = view.usage.cpuPercent;
  return `${p >= 10 ? Math.round(p) : p.toFixed(1)}%`;
}

/** Memory in use (peak once ended) over the limit: "12.5 MiB/256 MiB". */
export function memoryText(job: Pick<JobInfo, 'state' | 'usage' | 'limits'>): string {
  const used = job.state === 'running' ? job.usage.memoryBytes : job.usage.memoryPeakBytes;
  const limit = job.limits.memory !== undefined ? `/${formatBytes(job.limits.memory)}` : '';
  return used === null ? (limit ? `-${limit}` : '-') : `${formatBytes(used)}${limit}`;
}

/** Wall time the job ran (so far). */
export function runtimeText(job: Pick<JobInfo, 'startedAt' | 'endedAt'>, now: number): string {
  const ms = runtimeMs(job, now);
  return ms === null ? '-' : formatDuration(ms);
}

/** "cpu 0.5 · mem 256 MiB · pids 100 · read 10 MiB/s · write 5 MiB/s", or "none". */
export function limitsText(limits: Limits): string {
  const parts: string[] = [];
  if (limits.cpu !== undefined) parts.push(`cpu ${limits.cpu}`);
  if (limits.memory !== undefined) parts.push(`mem ${formatBytes(limits.memory)}`);
  if (limits.pids !== undefined) parts.push(`pids ${limits.pids}`);
  if (limits.ioRead !== undefined) parts.push(`read ${formatBytes(limits.ioRead)}/s`);
  if (limits.ioWrite !== undefined) parts.push(`write ${formatBytes(limits.ioWrite)}/s`);
  return parts.length === 0 ? 'none' : parts.join(' · ');
}
