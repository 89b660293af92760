// The terminal UI's link to the daemon: one connection carrying the job list, the job.changed and
// job.usage events (never polling) and the log subscriptions. When the connection drops, the loss is
// shown and the link reconnects with backoff, then lists and subscribes again.
import type { LogSink } from '../../client/connection.ts';
import { JobctlError } from '../../rpc/errors.ts';
import type { JobInfo } from '../../rpc/model.ts';
import { seesAllJobs, READ_JOBS } from '../../rpc/access.ts';
import type { TopStore } from '../model/top-store.ts';
import { backoffMs } from './backoff.ts';
import type { LogSource, LogStream, LogsParams, RpcConnection, TopActions } from './types.ts';

/** Jobs fetched when (re)listing; newer ones arrive as events. */
export const LIST_LIMIT = 500;

/** How the link is set up. */
export interface LinkOptions {
  /** Opens a new connection (used for every reconnect). */
  connect: () => Promise<RpcConnection>;
  store: TopStore;
  /** Start with every user's jobs (admin, viewer). */
  all?: boolean;
  /** Shown in the header; default: what the daemon reports (daemon.info). */
  endpoint?: string;
  /** Delay before reconnect attempt n. */
  backoff?: (attempt: number) => number;
}

/** The live link; implements the UI's actions. */
export class Link implements TopActions {
  private readonly options: LinkOptions;
  private readonly store: TopStore;
  private conn: RpcConnection | null = null;
  private all: boolean;
  private stopped = false;
  private connected!: Promise<void>;
  private markConnected!: () => void;
  private wakeSleep: (() => void) | null = null;
  // Event subscriptions replaced by a newer one: their late events are ignored.
  private readonly staleSubscriptions = new Set<number>();
  private eventsSubscription: number | null = null;
  // Scope changes (the "a" key) run one after another.
  private scopeChain: Promise<void> = Promise.resolve();
  private detachEvents: (() => void) | null = null;

  /** Job output over the current connection. */
  readonly logs: LogSource;

  constructor(options: LinkOptions) {
    this.options = options;
    this.store = options.store;
    this.all = options.all ?? false;
    this.resetConnected();
    this.logs = {
      open: (params, sink) => this.openLogs(params, sink),
      whenConnected: () => this.connected,
    };
  }

  /** Runs the link, starting with an already open connection if given. */
  start(first?: RpcConnection): void {
    void this.run(first);
  }

  /** Ends the link (the connection is closed by its owner, or here if the link opened it). */
  stop(): void {
    this.stopped = true;
    this.wakeSleep?.();
    this.detachEvents?.();
    this.conn?.close();
    this.conn = null;
  }

  /** Stops a job. */
  async stopJob(id: number): Promise<JobInfo> {
    const conn = this.conn;
    if (!conn) throw new JobctlError('UNAVAILABLE', 'not connected to the daemon; try again once the link is back');
    return conn.call('job.stop', { id });
  }

  /** Switches between every user's jobs and one's own: lists and subscribes again. */
  setAll(all: boolean): void {
    this.all = all;
    this.store.setAll(all);
    const conn = this.conn;
    if (!conn) return;
    this.scopeChain = this.scopeChain
      .then(() => this.subscribe(conn))
      .catch(() => undefined); // a dropped connection is handled by run()
  }

  private async run(first?: RpcConnection): Promise<void> {
    let attempt = 0;
    let next: RpcConnection | undefined = first;
    while (!this.stopped) {
      let error: unknown;
      try {
        const conn = next ?? (await this.options.connect());
        next = undefined;
        if (this.stopped) {
          conn.close();
          return;
        }
        const closed = new Promise<JobctlError>((resolve) => conn.onClose(resolve));
        try {
          await this.setUp(conn);
        } catch (err) {
          conn.close();
          throw err;
        }
        this.conn = conn;
        attempt = 0;
        this.store.setLink({ kind: 'live' });
        this.markConnected();
        error = await closed;
        this.conn = null;
        this.detachEvents?.();
        this.detachEvents = null;
        this.resetConnected();
      } catch (err) {
        error = err;
      }
      if (this.stopped) return;
      attempt++;
      const delay = (this.options.backoff ?? backoffMs)(attempt);
      this.store.setLink({ kind: 'lost', error: messageOf(error), attempt, retryAt: Date.now() + delay });
      await this.sleep(delay);
      if (!this.stopped) this.store.setLink({ kind: 'lost', error: messageOf(error), attempt, retryAt: null });
    }
  }

  private async setUp(conn: RpcConnection): Promise<void> {
    const session = await conn.call('session.info', {});
    this.store.setSession(session.user, session.role);
    if (!seesAllJobs({ access: READ_JOBS }, { user: session.user, role: session.role }) && this.all) {
      this.all = false;
      this.store.setAll(false);
    }
    if (this.options.endpoint) this.store.setEndpoint(this.options.endpoint);
    else this.store.setEndpoint((await conn.call('daemon.info', {})).endpoint);
    this.detachEvents?.();
    this.detachEvents = this.attachEvents(conn);
    this.eventsSubscription = null;
    await this.subscribe(conn);
  }

  // Event handlers for one connection. Events of a replaced subscription are dropped; events that
  // arrive while the list is being fetched are held and applied after it (they are newer).
  private held: Array<() => void> | null = null;

  private attachEvents(conn: RpcConnection): () => void {
    const deliver = (subscription: number, apply: () => void) => {
      if (this.staleSubscriptions.has(subscription)) return;
      if (this.held) this.held.push(apply);
      else apply();
    };
    const offChanged = conn.on('job.changed', (p) => deliver(p.subscription, () => this.store.upsertJob(p.job)));
    const offUsage = conn.on('job.usage', (p) => deliver(p.subscription, () => this.store.addUsage(p.id, p.usage)));
    return () => {
      offChanged();
      offUsage();
    };
  }

  // Subscribe first, then list: nothing that changes in between is missed.
  private async subscribe(conn: RpcConnection): Promise<void> {
    const all = this.all;
    const old = this.eventsSubscription;
    if (old !== null) {
      this.staleSubscriptions.add(old);
      this.eventsSubscription = null;
      await conn.call('events.unsubscribe', { subscription: old }).catch(() => undefined);
    }
    this.held = [];
    try {
      const { subscription } = await conn.call('events.subscribe', { all, usage: true });
      this.eventsSubscription = subscription;
      const jobs = await conn.call('job.list', { all, limit: LIST_LIMIT });
      this.store.replaceJobs(jobs);
      for (const apply of this.held) apply();
    } finally {
      this.held = null;
    }
  }

  private async openLogs(params: LogsParams, sink: LogSink): Promise<LogStream> {
    const conn = this.conn;
    if (!conn) throw new JobctlError('UNAVAILABLE', 'not connected to the daemon');
    const { subscription, done } = await conn.streamLogs(params, sink);
    let closed = false;
    return {
      done,
      close: () => {
        if (closed) return;
        closed = true;
        // NOT_FOUND when it already ended by itself; a dropped connection ended it anyway.
        conn.call('logs.unsubscribe', { subscription }).catch(() => undefined);
      },
    };
  }

  private resetConnected(): void {
    this.connected = new Promise((resolve) => (this.markConnected = resolve));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeSleep = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
