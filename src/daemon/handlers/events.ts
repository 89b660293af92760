// events.* handlers: job state changes pushed to watchers (and usage about once a second when asked),
// filtered by what the caller may see — a user never receives another user's job events.
import { seesAllJobs } from '../../rpc/access.ts';
import { JobctlError } from '../../rpc/errors.ts';
import { summarizeJob } from '../../rpc/job-view.ts';
import type { ParamsOf } from '../../rpc/methods.ts';
import type { Empty, Subscription } from '../../rpc/results.ts';
import type { Usage } from '../../rpc/model.ts';
import type { CallContext, DaemonContext } from '../context.ts';

/** How often usage figures are pushed to subscribers that asked for them. */
const USAGE_INTERVAL_MS = 1000;
/** Jobs whose usage is read in one turn of the event loop (each is a few cgroup files, ~0.5 ms). */
const USAGE_SLICE = 20;

/** Receives one running job's usage (with its owner, for the visibility check). */
type UsageListener = (jobId: number, owner: string, usage: Usage) => void;

/**
 * One usage sampler per daemon, shared by every subscriber: each job's cgroup files are read once a
 * second however many watchers there are, and in slices, so that 200 running jobs do not block the
 * event loop for ~100 ms at a time (test/reliability/load.test.ts).
 */
class UsageSampler {
  private readonly listeners = new Set<UsageListener>();
  private timer: NodeJS.Timeout | null = null;
  private sampling = false;
  private readonly daemon: DaemonContext;

  constructor(daemon: DaemonContext) {
    this.daemon = daemon;
  }

  /** Adds a listener; returns its removal. */
  add(listener: UsageListener): () => void {
    this.listeners.add(listener);
    this.timer ??= setInterval(() => void this.sample(), USAGE_INTERVAL_MS);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  private async sample(): Promise<void> {
    if (this.sampling) return; // the previous round is still going: skip a beat rather than pile up
    this.sampling = true;
    try {
      const { supervisor, store } = this.daemon;
      const ids = supervisor.runningIds();
      for (let i = 0; i < ids.length && this.listeners.size > 0; i += USAGE_SLICE) {
        if (i > 0) await new Promise((resolve) => setImmediate(resolve));
        for (const jobId of ids.slice(i, i + USAGE_SLICE)) {
          const usage = supervisor.liveUsage(jobId);
          const owner = usage ? store.jobs.get(jobId)?.owner : undefined;
          if (!usage || owner === undefined) continue;
          for (const listener of this.listeners) listener(jobId, owner, usage);
        }
      }
    } catch (err) {
      this.daemon.logger.warn('usage sampling failed', { error: (err as Error).message });
    } finally {
      this.sampling = false;
    }
  }
}

const samplers = new WeakMap<DaemonContext, UsageSampler>();

function samplerOf(daemon: DaemonContext): UsageSampler {
  let s = samplers.get(daemon);
  if (!s) samplers.set(daemon, (s = new UsageSampler(daemon)));
  return s;
}

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
      if (visible(job.owner)) ctx.session.sendEvent('job.changed', { subscription: id, job: summarizeJob(job) });
    });
    const offUsage = params.usage
      ? samplerOf(ctx.daemon).add((jobId, owner, usage) => {
          if (visible(owner)) ctx.session.sendEvent('job.usage', { subscription: id, id: jobId, usage });
        })
      : null;
    return {
      kind: 'events',
      cancel: () => {
        off();
        offUsage?.();
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
