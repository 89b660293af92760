// How much of a job goes into lists and events. A job's argv may be up to ARGV_MAX_JSON_BYTES as
// JSON (rpc/fields.ts), so a page of whole jobs could pass the frame limit and fail every `ps --all`
// and `top` that includes it — one user's long command line must not break other users' views.
// Lists and events carry a summary of argv; `job.get` answers with all of it.
import type { JobInfo } from './model.ts';
import { MAX_FRAME_BYTES } from './protocol.ts';
import { utf8Length } from './validate.ts';

/** Most of argv, as JSON, that a job in a list or an event carries. */
export const ARGV_SUMMARY_BYTES = 4096;

/** Room left in a list's frame for the frame's own envelope. */
const LIST_ENVELOPE_BYTES = 4096;

/** The job with argv cut to ARGV_SUMMARY_BYTES of JSON (and `argvTruncated: true`) when it is longer. */
export function summarizeJob(job: JobInfo): JobInfo {
  let used = 2; // []
  const argv: string[] = [];
  for (const arg of job.argv) {
    const size = utf8Length(JSON.stringify(arg)) + 1;
    if (used + size <= ARGV_SUMMARY_BYTES) {
      argv.push(arg);
      used += size;
      continue;
    }
    // Part of this argument, by code points, then stop. Escaping makes a character up to 6 bytes.
    const room = Math.floor((ARGV_SUMMARY_BYTES - used - 3) / 6);
    if (room > 0) argv.push([...arg].slice(0, room).join(''));
    return { ...job, argv, argvTruncated: true };
  }
  return job;
}

/**
 * Summarised jobs, in order, as many as fit one frame. The rest are left out (the caller pages on
 * with beforeId); only pathological rows (4 KiB of argv, 4 KiB of cwd) make a page this big.
 */
export function listPage(jobs: readonly JobInfo[]): JobInfo[] {
  const page: JobInfo[] = [];
  let used = LIST_ENVELOPE_BYTES;
  for (const job of jobs) {
    const summary = summarizeJob(job);
    used += utf8Length(JSON.stringify(summary)) + 1;
    if (used > MAX_FRAME_BYTES) break;
    page.push(summary);
  }
  return page;
}
