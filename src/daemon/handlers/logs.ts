// logs.* handlers: a job's output as binary frames, replayed from any point and then followed live,
// paced by the client's socket.
import { isJobctlError } from '../../rpc/errors.ts';
import { encodeLogFrame } from '../../rpc/log-frame.ts';
import type { StreamId } from '../../rpc/model.ts';
import type { ParamsOf } from '../../rpc/methods.ts';
import type { Empty, Subscription } from '../../rpc/results.ts';
import { errorToWire } from '../../rpc/wire-error.ts';
import type { LogItem, LogStore } from '../../store/index.ts';
import type { CallContext } from '../context.ts';
import { pumpLogs } from '../log-pump.ts';
import { visibleJob } from './jobs.ts';
import { tailStart } from '../tail.ts';

/** logs.subscribe: starts a pump; the answer (the subscription id) is sent before the first frame. */
export function logsSubscribe(params: ParamsOf<'logs.subscribe'>, ctx: CallContext): Subscription {
  visibleJob(ctx, params.id);
  const logs = ctx.daemon.store.logs;
  const streams: StreamId[] | undefined = params.streams?.map((s) => (s === 'stdout' ? 1 : 2));
  let afterSeq = params.afterSeq;
  let skipBytes = 0;
  if (afterSeq === undefined && params.tailLines !== undefined) ({ afterSeq, skipBytes } = tailStart(logs, params.id, params.tailLines, streams));
  const controller = new AbortController();
  const subscription = ctx.session.addSubscription(() => ({ kind: 'logs', cancel: () => controller.abort() }));
  ctx.daemon.logger.debug('logs subscribed', { user: ctx.caller.user, job: params.id, follow: params.follow });
  const items = source(logs, params.id, { afterSeq, streams, follow: params.follow, signal: controller.signal, skipBytes });
  // Start after the response is on the wire, so the client knows the subscription before frames arrive.
  setImmediate(() => {
    pumpLogs(items, ({ chunk }) => encodeLogFrame({ subscription, stream: chunk.stream, seq: chunk.seq, timeMs: chunk.at, data: chunk.data }), ctx.session, subscription, controller.signal)
      .then((why) => {
        ctx.session.forgetSubscription(subscription);
        if (why !== 'closed') ctx.session.sendEvent('logs.end', { subscription, reason: why });
      })
      .catch((err: unknown) => {
        ctx.session.forgetSubscription(subscription);
        // A coded error is an expected end (the job's log was deleted under the follower): the
        // client is told in logs.end; only anything else is a daemon failure.
        if (isJobctlError(err)) ctx.daemon.logger.info('log stream ended with an error', { job: params.id, code: err.code, error: err.message });
        else ctx.daemon.logger.error('log stream failed', { job: params.id, error: (err as Error).message });
        ctx.session.sendEvent('logs.end', { subscription, reason: 'error', error: errorToWire(err) });
      });
  });
  return { subscription };
}

/** logs.unsubscribe. */
export function logsUnsubscribe(params: ParamsOf<'logs.unsubscribe'>, ctx: CallContext): Empty {
  ctx.session.removeSubscription(params.subscription, 'logs');
  return {};
}

async function* source(
  logs: LogStore,
  jobId: number,
  q: { afterSeq?: number; streams?: StreamId[]; follow: boolean; signal: AbortSignal; skipBytes: number },
): AsyncGenerator<LogItem> {
  let skip = q.skipBytes;
  // Without follow, only what is stored now is replayed, even while the job still writes.
  const items = logs.follow(jobId, { afterSeq: q.afterSeq, streams: q.streams, signal: q.signal, live: q.follow });
  for await (const item of items) {
    if (item.kind === 'chunk' && skip > 0) {
      // --tail: the first chunk may start before the N-th last line.
      const cut = Math.min(skip, item.chunk.data.length);
      skip -= cut;
      if (cut === item.chunk.data.length) continue;
      yield { kind: 'chunk', chunk: { ...item.chunk, data: item.chunk.data.subarray(cut) } };
      continue;
    }
    yield item;
  }
}
