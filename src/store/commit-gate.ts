// A short pause of the log writers' commits, asked for by the checkpointer: SQLite starts the WAL over
// only at a commit that finds every frame already copied into the database, which a steady stream of
// commits never leaves time for. While the gate is held the writers keep queueing (the event loop goes
// on), the checkpoint worker copies the last frames, then the commits resume and the first one starts
// the WAL from its beginning. A writer whose queue grows too big meanwhile waits for that pass,
// blocking — which also slows its producer down — rather than commit in its middle.

/** The writers' view of the gate. */
export interface CommitGate {
  /** True while queued commits should wait. A commit that must happen now (close, flush) never waits. */
  readonly held: boolean;
  /** Runs fn once the gate opens (fn is registered once however often it is passed). */
  whenOpen(fn: () => void): void;
  /** Blocks until the pass the commits are held for has ended (or the hold's time is up), then opens. */
  waitOpen(): void;
}

/** The checkpointer's side: holds and opens the gate. */
export class HeldCommits implements CommitGate {
  private readonly waiting = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private deadline = 0;
  private waitForPass: (ms: number) => void = () => undefined;
  /** How often a writer waited, blocking, for the pass (waitOpen), and for how long in all. */
  waits = 0;
  waitedMs = 0;

  get held(): boolean {
    return this.timer !== undefined;
  }

  whenOpen(fn: () => void): void {
    if (this.held) this.waiting.add(fn);
    else fn();
  }

  waitOpen(): void {
    if (!this.held) return;
    const t0 = performance.now();
    this.waitForPass(Math.max(0, this.deadline - t0));
    this.waits++;
    this.waitedMs += performance.now() - t0;
    this.open();
  }

  /**
   * Holds queued commits until open() — at most maxMs, whatever happens to the worker.
   * `waitForPass(ms)` blocks until the pass ends or ms have passed.
   */
  hold(maxMs: number, waitForPass: (ms: number) => void): void {
    if (this.held) return;
    this.deadline = performance.now() + maxMs;
    this.waitForPass = waitForPass;
    this.timer = setTimeout(() => this.open(), maxMs);
  }

  /** Lets the held commits run now. */
  open(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const fn of waiting) {
      try {
        fn();
      } catch {
        // A writer's commit never throws (it drops and counts); nothing else is registered here.
      }
    }
  }
}
