// events.* handlers: job state changes pushed to watchers (and usage about once a second when asked),
// filtered by what the caller may see — a user never receives another user's job events.
import { seesAllJobs } from '../../rpc/access.ts';
import { JobctlError } from '../../rpc/errors.ts';
import type { ParamsOf } from '../../rpc/methods.ts';
import type { Empty, Subscription } from '../../rpc/results.ts';
import type { CallContext } from '../context.ts';

/** How often usage figures are pushed to subscribers that asked for them. */
const USAGE_INTERVAL_MS = 1000;

/** events.subscribe. */
export function eventsSubscribe(params: ParamsOf<'events.subscribe'>, ctx: CallContext): Subscription {
  const all = params.all === true;
  if (all && !seesAllJobs(ctx.method, ctx.caller)) {
    throw new JobctlError('PERMISSION_DENIED', `${ctx.caller.user} (role ${ctx.caller.role}) receives events of its own jobs only; subscribe without all`);
  }
  const { supervisor } = ctx.daemon;
  const visible = (owner: string) => all || owner === ctx.caller.user;
  const subscription = ctx.session.addSubscription((id) => {
    const off = supervisor.onChange((job) => {
      if (visible(job.owner)) ctx.session.sendEvent('job.changed', { subscription: id, job });
    });
    const timer = params.usage
      ? setInterval(() => {
          for (const jobId of supervisor.runningIds()) {
            const usage = supervisor.liveUsage(jobId);
            if (!usage) continue;
            const job = ctx.daemon.store.jobs.get(jobId);
            if (job && visible(job.owner)) ctx.session.sendEvent('job.usage', { subscription: id, id: jobId, usage });
          }
        }, USAGE_INTERVAL_MS)
      : null;
    return {
      kind: 'events',
      cancel: () => {
        off();
        if (timer) clearInterval(timer);
      },
    };
  });
  return { subscription };
}

/** events.unsubscribe. */
export function eventsUnsubscribe(params: ParamsOf<'events.unsubscribe'>, ctx: CallContext): Empty {
  ctx.session.removeSubscription(params.subscription, 'events');
  return {};
}
