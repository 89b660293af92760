// What the terminal UI knows of the daemon: who we are, the link's state, and the jobs with their
// usage history. Fed by the live link (events, never polling); read by React through subscribe /
// getSnapshot. Changes are coalesced: subscribers hear at most once per notifyIntervalMs, so a burst
// of events costs one render.
import { JOB_STATES, type JobInfo, type JobState, type Usage } from '../../rpc/model.ts';
import type { Role } from '../../rpc/roles.ts';
import { EMPTY_HISTORY, addUsage, type UsageHistory } from './usage-history.ts';

/** The state of the connection to the daemon. */
export type LinkState =
  | { kind: 'connecting' }
  | { kind: 'live' }
  | { kind: 'lost'; error: string; attempt: number; retryAt: number | null };

/** A job with its usage history. */
export interface JobView {
  job: JobInfo;
  usage: UsageHistory;
}

/** An immutable picture of the store, replaced on every (coalesced) change. */
export interface TopSnapshot {
  link: LinkState;
  user: string | null;
  role: Role | null;
  endpoint: string | null;
  /** Showing every user's jobs (admin, viewer) rather than one's own. */
  all: boolean;
  /** Newest first. */
  jobs: readonly JobView[];
  counts: Readonly<Record<JobState, number>>;
}

/** Options of a store. */
export interface TopStoreOptions {
  notifyIntervalMs?: number;
  /** Jobs kept; beyond it the oldest finished ones are forgotten. */
  maxJobs?: number;
  now?: () => number;
}

/** The store. */
export class TopStore {
  private readonly notifyIntervalMs: number;
  private readonly maxJobs: number;
  private readonly now: () => number;
  private readonly listeners = new Set<() => void>();
  private readonly jobs = new Map<number, JobView>();
  private link: LinkState = { kind: 'connecting' };
  private user: string | null = null;
  private role: Role | null = null;
  private endpoint: string | null = null;
  private all = false;
  private snapshot: TopSnapshot;
  private timer: NodeJS.Timeout | null = null;
  private lastNotify = 0;

  constructor(options: TopStoreOptions = {}) {
    this.notifyIntervalMs = options.notifyIntervalMs ?? 100;
    this.maxJobs = options.maxJobs ?? 1000;
    this.now = options.now ?? Date.now;
    this.snapshot = this.build();
  }

  /** The current picture (the same object until something changes). */
  getSnapshot = (): TopSnapshot => this.snapshot;

  /** Calls listener after changes; returns the unsubscribe function. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Who the daemon says we are. */
  setSession(user: string, role: Role): void {
    this.user = user;
    this.role = role;
    this.changed();
  }

  /** The daemon's address, for the header. */
  setEndpoint(endpoint: string): void {
    this.endpoint = endpoint;
    this.changed();
  }

  /** Whether every user's jobs are shown. */
  setAll(all: boolean): void {
    this.all = all;
    this.changed();
  }

  /** The connection's state. */
  setLink(link: LinkState): void {
    this.link = link;
    this.changed();
  }

  /** Replaces the set of jobs (a fresh job.list); usage history of jobs still present is kept. */
  replaceJobs(jobs: readonly JobInfo[]): void {
    const previous = new Map(this.jobs);
    this.jobs.clear();
    for (const job of jobs) this.jobs.set(job.id, { job, usage: previous.get(job.id)?.usage ?? EMPTY_HISTORY });
    this.prune();
    this.changed();
  }

  /** A job was created or changed state. */
  upsertJob(job: JobInfo): void {
    const old = this.jobs.get(job.id);
    this.jobs.set(job.id, { job, usage: old?.usage ?? EMPTY_HISTORY });
    this.prune();
    this.changed();
  }

  /** A usage sample of a running job. */
  addUsage(id: number, usage: Usage): void {
    const old = this.jobs.get(id);
    // A sample that crossed the job's end must not replace its final figures.
    if (!old || old.job.state !== 'running') return;
    this.jobs.set(id, { job: { ...old.job, usage }, usage: addUsage(old.usage, usage, this.now()) });
    this.changed();
  }

  /** Tells subscribers now (pending changes included); for tests and shutdown. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.notify();
  }

  /** Stops pending notifications. */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  private changed(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.lastNotify + this.notifyIntervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.notify();
    }, wait);
  }

  private notify(): void {
    this.lastNotify = this.now();
    this.snapshot = this.build();
    for (const listener of [...this.listeners]) listener();
  }

  private prune(): void {
    if (this.jobs.size <= this.maxJobs) return;
    const finished = [...this.jobs.values()].filter((v) => v.job.state !== 'running').sort((a, b) => a.job.id - b.job.id);
    for (const v of finished.slice(0, this.jobs.size - this.maxJobs)) this.jobs.delete(v.job.id);
  }

  private build(): TopSnapshot {
    const jobs = [...this.jobs.values()].sort((a, b) => b.job.id - a.job.id);
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const v of jobs) counts[v.job.state]++;
    return { link: this.link, user: this.user, role: this.role, endpoint: this.endpoint, all: this.all, jobs, counts };
  }
}
