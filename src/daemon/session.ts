// One authenticated WebSocket connection: decodes frames, enforces the in-flight and subscription
// limits, dispatches to the handler table, and owns the connection's subscriptions. One client's bad
// input gets a coded error on that connection only; nothing here can take the daemon down.
import type { WebSocket } from 'ws';
import { decodeFrame, encodeFrame, errorFrame, frameErrorId, resultFrame } from '../rpc/codec.ts';
import { JobctlError } from '../rpc/errors.ts';
import { getMethod, type AnyMethod } from '../rpc/methods.ts';
import { checkRole } from '../rpc/access.ts';
import { MAX_IN_FLIGHT, MAX_SUBSCRIPTIONS } from '../rpc/protocol.ts';
import type { Caller } from '../rpc/roles.ts';
import type { CallContext, DaemonContext } from './context.ts';
import { HANDLERS } from './handlers/index.ts';
import { recordAudit } from './audit.ts';
import { SendWindow } from './send-window.ts';
import { leadingRequestId } from './frame-limit.ts';

/** A client that lets more than this pile up unread is cut off rather than buffered without end. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/** A live subscription: cancel() ends it (idempotent). */
export interface SubscriptionHandle {
  kind: 'logs' | 'events';
  cancel(): void;
}

/** One client connection. */
export class Session {
  readonly caller: Caller;
  readonly serial: string;
  /** Resolves once the socket has closed (after the close handshake, or when it dropped). */
  readonly socketClosed: Promise<void>;
  /** Aborted when the connection starts closing: work done for it (a long tail lookup) can stop. */
  get closing(): AbortSignal {
    return this.closingController.signal;
  }
  private readonly closingController = new AbortController();
  private readonly ws: WebSocket;
  private readonly daemon: DaemonContext;
  private readonly subscriptions = new Map<number, SubscriptionHandle>();
  /** Log frames queued on this socket, shared by all its log subscriptions (see send-window.ts). */
  private readonly window = new SendWindow();
  private nextSubscription = 1;
  private inFlight = 0;
  private closed = false;

  constructor(ws: WebSocket, caller: Caller, serial: string, daemon: DaemonContext) {
    this.ws = ws;
    this.caller = caller;
    this.serial = serial;
    this.daemon = daemon;
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    this.socketClosed = new Promise((resolve) => ws.once('close', () => resolve()));
    ws.on('close', () => this.dispose());
    ws.on('error', () => this.dispose());
  }

  /** True until the socket starts closing. */
  isOpen(): boolean {
    return !this.closed && this.ws.readyState === this.ws.OPEN;
  }

  /** Sends a JSON event; a client that stopped reading is disconnected instead of buffered. */
  sendEvent(event: string, params: unknown): void {
    if (!this.isOpen()) return;
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.close(1008, 'client too slow: events not read');
      return;
    }
    this.ws.send(JSON.stringify({ t: 'evt', event, params }));
  }

  /** Sends a binary log frame, counted in the socket's send window; done() runs once the socket has taken it. */
  sendBinary(frame: Uint8Array, done: (err?: Error) => void): void {
    if (!this.isOpen()) {
      done(new Error('socket closed'));
      return;
    }
    const release = this.window.add(frame.byteLength);
    this.ws.send(frame, { binary: true }, (err) => {
      release();
      done(err ?? undefined);
    });
  }

  /** True while the socket's log send window has room: every log subscription of the connection shares it. */
  hasRoom(): boolean {
    return this.window.hasRoom();
  }

  /** Resolves when the socket's log send window may have room again (or signal aborts, or the socket closes). */
  waitForRoom(signal: AbortSignal): Promise<void> {
    return this.window.waitForRoom(signal);
  }

  /** True while a log subscription of this connection is still sending. */
  streamsLogs(): boolean {
    for (const sub of this.subscriptions.values()) if (sub.kind === 'logs') return true;
    return false;
  }

  /** Registers a subscription and returns its number; BUSY past the per-connection limit. */
  addSubscription(make: (id: number) => SubscriptionHandle): number {
    if (this.subscriptions.size >= MAX_SUBSCRIPTIONS) {
      throw new JobctlError('BUSY', `too many subscriptions on this connection (limit ${MAX_SUBSCRIPTIONS}); unsubscribe first`);
    }
    const id = this.nextSubscription++;
    this.subscriptions.set(id, make(id));
    return id;
  }

  /** Ends a subscription of this connection; NOT_FOUND if it is not one. */
  removeSubscription(id: number, kind: SubscriptionHandle['kind']): void {
    const sub = this.subscriptions.get(id);
    if (!sub || sub.kind !== kind) throw new JobctlError('NOT_FOUND', `no ${kind} subscription ${id} on this connection`);
    this.subscriptions.delete(id);
    sub.cancel();
  }

  /** Forgets a subscription that ended by itself. */
  forgetSubscription(id: number): void {
    this.subscriptions.delete(id);
  }

  /** Closes the connection (e.g. its certificate was revoked). */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.close(code, reason.slice(0, 120));
    this.dispose();
  }

  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.closingController.abort(new JobctlError('UNAVAILABLE', 'the connection closed'));
    this.window.close();
    for (const sub of this.subscriptions.values()) sub.cancel();
    this.subscriptions.clear();
    this.daemon.sessions.delete(this);
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return; // cut off (or closing): what it still sends is not served
    let frame;
    try {
      if (isBinary) throw new JobctlError('PROTOCOL', 'binary frames are only sent by the daemon (log data); send requests as JSON text frames');
      frame = decodeFrame(data);
    } catch (err) {
      // Over the frame limit nothing is parsed: the id, if any, is read from the frame's start.
      const oversized = !isBinary && err instanceof JobctlError && err.code === 'TOO_LARGE';
      this.respond(oversized ? leadingRequestId(data) : frameErrorId(err), undefined, err);
      return;
    }
    if (frame.t !== 'req') {
      this.respond(0, undefined, new JobctlError('PROTOCOL', `clients send requests ({"t":"req",...}); got a frame of type "${frame.t}"`));
      return;
    }
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.respond(frame.id, undefined, new JobctlError('BUSY', `too many requests in flight on this connection (limit ${MAX_IN_FLIGHT}); wait for answers first`));
      return;
    }
    this.inFlight++;
    // serve() answers every error itself; this catch is the last guard: a rejection left unhandled
    // would end the daemon for everyone over one client's request.
    void this.serve(frame.id, frame.method, frame.params)
      .catch((err: unknown) => this.daemon.logger.error('request failed', { method: frame.method.slice(0, 100), error: (err as Error)?.stack ?? String(err) }))
      .finally(() => this.inFlight--);
  }

  private async serve(id: number, methodName: string, rawParams: unknown): Promise<void> {
    let method: AnyMethod | null = null;
    let params: unknown;
    try {
      method = getMethod(methodName);
      checkRole(method, this.caller);
      params = method.params(rawParams ?? {}, 'params');
      const ctx: CallContext = { daemon: this.daemon, session: this, caller: this.caller, method };
      const handler = HANDLERS[method.name as keyof typeof HANDLERS] as (p: unknown, c: CallContext) => unknown;
      const pending = Promise.resolve(handler(params, ctx));
      let settled = false;
      void pending.then(
        () => (settled = true),
        () => (settled = true),
      );
      // One turn of the microtask queue: a call refused at once (no such job, not running) has settled.
      await null;
      // A blocking call that goes on (a stop's grace period: up to an hour) is recorded when accepted,
      // at the time it was asked — a daemon that dies meanwhile must not lose it from the audit trail.
      const recordedEarly = method.audited && method.blocking === true && !settled;
      if (recordedEarly) recordAudit(this.daemon, this.caller, method.name, params, undefined, null);
      const result = await pending;
      if (method.audited && !recordedEarly) recordAudit(this.daemon, this.caller, method.name, params, result, null);
      this.respond(id, result, undefined);
    } catch (err) {
      if (method?.audited) recordAudit(this.daemon, this.caller, method.name, params ?? rawParams, undefined, err);
      if (!(err instanceof JobctlError)) this.daemon.logger.error('handler failed', { method: methodName, error: (err as Error)?.stack ?? String(err) });
      this.respond(id, undefined, err);
    }
  }

  private respond(id: number, result: unknown, error: unknown): void {
    if (!this.isOpen()) return;
    // In-flight counts requests until they are answered, not until the answers are read: a client that
    // keeps asking and never reads would have the daemon buffer answers without end.
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.close(1008, 'client too slow: responses not read');
      return;
    }
    let text: string;
    try {
      text = encodeFrame(error === undefined ? resultFrame(id, result) : errorFrame(id, error));
    } catch (err) {
      text = encodeFrame(errorFrame(id, err)); // e.g. a result over the frame limit: say so instead
    }
    this.ws.send(text);
  }
}
