// logs.* handlers: a job's output as binary frames, replayed from any point and then followed live,
// paced by the client's socket.
import { isJobctlError } from '../../rpc/errors.ts';
import { encodeLogFrame } from '../../rpc/log-frame.ts';
import type { StreamId } from '../../rpc/model.ts';
import type { ParamsOf } from '../../rpc/methods.ts';
import type { Empty, Subscription } from '../../rpc/results.ts';
import { errorToWire } from '../../rpc/wire-error.ts';
import { tailPart, type LogItem, type LogTail } from '../../store/index.ts';
import type { CallContext } from '../context.ts';
import { pumpLogs } from '../log-pump.ts';
import { visibleJob } from './jobs.ts';

/**
 * logs.subscribe: starts a pump; the answer (the subscription id) is sent before the first frame.
 * Without follow, the replay ends at the log's end as it is when the request is handled: what the
 * job writes while a tail is looked up (that spans turns of the event loop) or while the answer
 * travels is not part of it.
 */
export async function logsSubscribe(params: ParamsOf<'logs.subscribe'>, ctx: CallContext): Promise<Subscription> {
  visibleJob(ctx, params.id);
  const logs = ctx.daemon.store.logs;
  const streams: StreamId[] | undefined = params.streams?.map((s) => (s === 'stdout' ? 1 : 2));
  const endSeq = logs.lastSeq(params.id);
  let afterSeq = params.afterSeq;
  let tail: LogTail | undefined;
  if (afterSeq === undefined && params.tailLines !== undefined) {
    // Counted per stream, up to endSeq; spread over turns so other clients are served meanwhile.
    tail = await logs.tail(params.id, params.tailLines, { streams, endSeq, signal: ctx.session.closing });
    afterSeq = tail.afterSeq;
  }
  const controller = new AbortController();
  const subscription = ctx.session.addSubscription(() => ({ kind: 'logs', cancel: () => controller.abort() }));
  ctx.daemon.logger.debug('logs subscribed', { user: ctx.caller.user, job: params.id, follow: params.follow });
  // follow() takes its end point now, in the same synchronous step as endSeq above.
  const items = logs.follow(params.id, { afterSeq, streams, signal: controller.signal, live: params.follow, endSeq });
  const source = tail === undefined ? items : toTail(items, tail);
  // Start after the response is on the wire, so the client knows the subscription before frames arrive.
  setImmediate(() => {
    pumpLogs(source, ({ chunk }) => encodeLogFrame({ subscription, stream: chunk.stream, seq: chunk.seq, timeMs: chunk.at, data: chunk.data }), ctx.session, subscription, controller.signal)
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

/** Cuts the replay to the tail: each stream's chunks from its own start on (see LogTail). */
async function* toTail(items: AsyncIterable<LogItem>, tail: LogTail): AsyncGenerator<LogItem> {
  // for await returns `items` (ending its follower) when this generator is returned early.
  for await (const item of items) {
    if (item.kind !== 'chunk') {
      yield item;
      continue;
    }
    const data = tailPart(tail, item.chunk);
    if (data === null) continue;
    yield data === item.chunk.data ? item : { kind: 'chunk', chunk: { ...item.chunk, data } };
  }
}
