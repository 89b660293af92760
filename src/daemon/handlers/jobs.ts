// job.* handlers: start, list, get, stop, wait. Ownership is checked on every job a caller touches.
import { checkJobAccess, seesAllJobs } from '../../rpc/access.ts';
import { JobctlError } from '../../rpc/errors.ts';
import { listPage } from '../../rpc/job-view.ts';
import type { JobInfo } from '../../rpc/model.ts';
import type { ParamsOf } from '../../rpc/methods.ts';
import type { CallContext } from '../context.ts';

/** The job with this id, if the caller may reach it through the current method. */
export function visibleJob(ctx: CallContext, id: number): JobInfo {
  const job = ctx.daemon.supervisor.get(id);
  checkJobAccess(ctx.method, ctx.caller, job);
  return job;
}

/** job.start: runs the spec as the caller. */
export function jobStart(params: ParamsOf<'job.start'>, ctx: CallContext): Promise<JobInfo> {
  return ctx.daemon.supervisor.start({ ...params, name: params.name ?? null }, ctx.caller.user);
}

/** job.list: the caller's jobs, or everyone's for roles that may see them all. */
export function jobList(params: ParamsOf<'job.list'>, ctx: CallContext): JobInfo[] {
  if (params.all && !seesAllJobs(ctx.method, ctx.caller)) {
    throw new JobctlError('PERMISSION_DENIED', `${ctx.caller.user} (role ${ctx.caller.role}) sees only its own jobs; list without --all`);
  }
  const owner = params.all ? undefined : ctx.caller.user;
  return listPage(ctx.daemon.supervisor.list({ owner, limit: params.limit ?? 1000, states: params.states, beforeId: params.beforeId }));
}

/** job.get: one job with live usage. */
export function jobGet(params: ParamsOf<'job.get'>, ctx: CallContext): JobInfo {
  return visibleJob(ctx, params.id);
}

/** job.stop: graceful stop, then kill all; answers with the final job. */
export function jobStop(params: ParamsOf<'job.stop'>, ctx: CallContext): Promise<JobInfo> {
  visibleJob(ctx, params.id);
  return ctx.daemon.supervisor.stop(params.id, params.graceMs);
}

/** job.wait: answers once the job has ended. */
export function jobWait(params: ParamsOf<'job.wait'>, ctx: CallContext): Promise<JobInfo> {
  visibleJob(ctx, params.id);
  return ctx.daemon.supervisor.wait(params.id);
}
