// A connection to a daemon: mutual TLS, the protocol version offered at connect, typed calls, events,
// and log subscriptions whose pace is the consumer's (the socket is paused while the consumer is busy,
// so the daemon's send window fills and it stops reading the store — no buffering on either side).
import WebSocket from 'ws';
import type { IncomingMessage } from 'node:http';
import { decodeFrame, encodeFrame, requestFrame } from '../rpc/codec.ts';
import { decodeLogFrame } from '../rpc/log-frame.ts';
import { JobctlError } from '../rpc/errors.ts';
import type { IdentityPems } from '../pki/identity-dir.ts';
import { dialDaemon, explainConnectError, type DialedSocket } from './dial.ts';
import type { EventName, EventParamsOf } from '../rpc/events.ts';
import { validateParams, type MethodName, type ParamsOf, type ResultOf } from '../rpc/methods.ts';
import { MAX_FRAME_BYTES, PROTOCOL_VERSION, subprotocolFor } from '../rpc/protocol.ts';
import { errorFromWire } from '../rpc/wire-error.ts';
import type { StreamId } from '../rpc/model.ts';

/** Receives one log subscription; a returned promise pauses the connection until it settles. */
export interface LogSink {
  onChunk(stream: StreamId, data: Buffer, seq: number, time: number): void | Promise<void>;
  /** Output was dropped before the next chunk; upperBound: droppedBytes is the most that can be missing, not an exact count. */
  onGap?(droppedBytes: number, reason: string, upperBound: boolean): void;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void };
type LogSubscription = { sink: LogSink; end: (reason: string, error?: JobctlError) => void };

/** An open connection to a daemon. */
export class Connection {
  private readonly ws: WebSocket;
  private readonly pending = new Map<number, Pending>();
  private readonly logSubs = new Map<number, LogSubscription>();
  private readonly earlyFrames = new Map<number, Buffer[]>();
  private readonly eventHandlers = new Map<string, Set<(params: never) => void>>();
  private readonly closeHandlers = new Set<(err: JobctlError) => void>();
  private nextId = 1;
  private busy = 0;
  private closedError: JobctlError | null = null;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => (isBinary ? this.onBinary(data as Buffer) : this.onText(data as Buffer)));
    ws.on('close', (code, reason) => this.onClosed(code, reason.toString()));
    ws.on('error', (err) => this.onClosed(1006, err.message));
  }

  /** Connects to endpoint (wss://host:port) with identity; rejects with a coded, readable error. */
  static async open(endpoint: string, identity: IdentityPems, timeoutMs = 10_000): Promise<Connection> {
    return Connection.over(endpoint, await dialDaemon(endpoint, identity, { timeoutMs }), timeoutMs);
  }

  /**
   * Finishes the connection dialDaemon began: the TLS handshake and the check of the daemon's
   * certificate (nothing is written before it passed), then the WebSocket upgrade.
   */
  static async over(endpoint: string, dialed: DialedSocket, timeoutMs = 10_000): Promise<Connection> {
    const early = dialed.earlyError();
    if (early || dialed.socket.destroyed) throw explainConnectError((early ?? new Error('socket hang up')) as NodeJS.ErrnoException, endpoint);
    try {
      await dialed.verified;
    } catch (err) {
      throw explainConnectError((dialed.earlyError() ?? err) as NodeJS.ErrnoException, endpoint);
    }
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(endpoint, subprotocolFor(PROTOCOL_VERSION), {
        createConnection: () => dialed.socket,
        maxPayload: MAX_FRAME_BYTES + 64,
        perMessageDeflate: false,
        handshakeTimeout: timeoutMs,
      });
      const fail = (err: JobctlError) => {
        ws.removeAllListeners();
        ws.on('error', () => undefined);
        ws.terminate();
        reject(err);
      };
      ws.once('unexpected-response', (_req, res: IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d.slice(0, 8192)));
        res.on('end', () => {
          let err: JobctlError;
          try {
            err = errorFromWire(JSON.parse(body));
          } catch {
            err = new JobctlError('PROTOCOL', `the server at ${endpoint} answered HTTP ${res.statusCode}; is it a jobctl daemon?`);
          }
          fail(err);
        });
      });
      ws.once('error', (err: NodeJS.ErrnoException) => fail(explainConnectError(err, endpoint)));
      ws.once('open', () => {
        ws.removeAllListeners();
        resolve(new Connection(ws));
      });
    });
  }

  /** Calls a method; resolves with its result or rejects with the daemon's coded error. */
  call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    if (this.closedError) return Promise.reject(this.closedError);
    // Checked here too so a CLI mistake is reported without a round trip (the daemon checks again).
    validateParams(method, params);
    // Closing but not yet closed (the daemon's close frame is in): a send would be dropped silently.
    if (this.ws.readyState !== WebSocket.OPEN) return Promise.reject(new JobctlError('UNAVAILABLE', 'connection to the daemon is closing'));
    const id = this.nextId++;
    let text: string;
    try {
      text = encodeFrame(requestFrame(id, method, params));
    } catch (err) {
      // Over the frame limit the daemon would close the connection with no word on which call.
      if (!(err instanceof JobctlError) || err.code !== 'TOO_LARGE') return Promise.reject(err);
      return Promise.reject(new JobctlError('TOO_LARGE', `the ${method} request cannot be sent: ${err.message}; make the command line and environment smaller`, { cause: err, details: err.details }));
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(text, (err) => {
        if (!err || !this.pending.has(id)) return;
        this.pending.delete(id);
        reject(new JobctlError('UNAVAILABLE', `could not send ${method} to the daemon: ${err.message}`, { cause: err }));
      });
    });
  }

  /** Handles events of one name; returns the unsubscribe function. */
  on<E extends EventName>(event: E, handler: (params: EventParamsOf<E>) => void): () => void {
    let set = this.eventHandlers.get(event);
    if (!set) this.eventHandlers.set(event, (set = new Set()));
    set.add(handler as (params: never) => void);
    return () => set.delete(handler as (params: never) => void);
  }

  /** Called once if the connection drops. */
  onClose(handler: (err: JobctlError) => void): void {
    this.closeHandlers.add(handler);
  }

  /** Streams a job's output into sink; resolves with why it ended ("finished", "unsubscribed"). */
  async streamLogs(params: ParamsOf<'logs.subscribe'>, sink: LogSink): Promise<{ subscription: number; done: Promise<string> }> {
    let end!: LogSubscription['end'];
    const done = new Promise<string>((resolve, reject) => {
      end = (reason, error) => (error ? reject(error) : resolve(reason));
    });
    const { subscription } = await this.call('logs.subscribe', params);
    const sub: LogSubscription = {
      sink,
      end: (reason, error) => {
        this.logSubs.delete(subscription);
        end(reason, error);
      },
    };
    this.logSubs.set(subscription, sub);
    // Frames can arrive in the same tick as the answer: deliver what came first.
    for (const frame of this.earlyFrames.get(subscription) ?? []) this.onBinary(frame);
    this.earlyFrames.delete(subscription);
    return { subscription, done };
  }

  /** Closes the connection. */
  close(): void {
    this.ws.close(1000);
  }

  private onText(data: Buffer): void {
    let frame;
    try {
      frame = decodeFrame(data, { fromDaemon: true });
    } catch {
      return; // a newer daemon may send frames this client does not know
    }
    if (frame.t === 'res') {
      const p = this.pending.get(frame.id as number);
      if (!p) return;
      this.pending.delete(frame.id as number);
      if ('error' in frame && frame.error !== undefined) p.reject(errorFromWire(frame.error));
      else p.resolve((frame as { result?: unknown }).result);
    } else if (frame.t === 'evt') {
      const params = frame.params as { subscription?: number; reason?: string; error?: unknown; droppedBytes?: number; upperBound?: boolean };
      if (frame.event === 'logs.end' && typeof params.subscription === 'number') {
        const err = params.reason === 'error' ? errorFromWire(params.error) : undefined;
        this.afterSink(() => this.logSubs.get(params.subscription as number)?.end(String(params.reason), err));
        return;
      }
      if (frame.event === 'logs.gap' && typeof params.subscription === 'number') {
        this.afterSink(() => this.logSubs.get(params.subscription as number)?.sink.onGap?.(Number(params.droppedBytes), String(params.reason), params.upperBound === true));
        return;
      }
      for (const handler of this.eventHandlers.get(frame.event) ?? []) handler(frame.params as never);
    }
  }

  private onBinary(data: Buffer): void {
    let frame;
    try {
      frame = decodeLogFrame(data);
    } catch {
      return;
    }
    const sub = this.logSubs.get(frame.subscription);
    if (!sub) {
      const early = this.earlyFrames.get(frame.subscription) ?? [];
      early.push(data);
      this.earlyFrames.set(frame.subscription, early);
      return;
    }
    const result = sub.sink.onChunk(frame.stream, Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength), frame.seq, frame.timeMs);
    if (result instanceof Promise) {
      // The consumer is busy: stop reading the socket until it is done.
      if (this.busy++ === 0) this.ws.pause();
      this.sinkQueue = this.sinkQueue.then(() => result).catch(() => undefined).then(() => {
        if (--this.busy === 0) this.ws.resume();
      });
    }
  }

  private sinkQueue: Promise<void> = Promise.resolve();

  // Ends and gaps must not overtake output still being written by the sink.
  private afterSink(fn: () => void): void {
    this.sinkQueue = this.sinkQueue.then(fn);
  }

  private onClosed(code: number, reason: string): void {
    if (this.closedError) return;
    const err =
      code === 4403
        ? new JobctlError('UNAUTHENTICATED', `the daemon closed the connection: ${reason || 'certificate revoked'}`)
        : new JobctlError('UNAVAILABLE', `connection to the daemon closed${reason ? `: ${reason}` : ''} (code ${code})`);
    this.closedError = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const sub of [...this.logSubs.values()]) sub.end('closed', err);
    for (const handler of this.closeHandlers) handler(err);
  }
}
