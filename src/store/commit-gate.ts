// A short pause of the log writers' commits, asked for by the checkpointer: SQLite starts the WAL over
// only at a commit that finds every frame already copied into the database, which a steady stream of
// commits never leaves time for. While the gate is held the writers keep queueing (the event loop goes
// on), the checkpoint worker copies the last frames, then the commits resume and the first one starts
// the WAL from its beginning. A writer whose queue grows too big meanwhile has its producer paused
// (the job's pipe: the job blocks on its write, the event loop serves everyone else); only a
// producer that ignores the pause makes the writer wait for the pass, blocking, rather than commit
// in its middle or queue without bound.

/** The writers' view of the gate. */
export interface CommitGate {
  /** True while queued commits should wait. A commit that must happen now (close, flush) never waits. */
  readonly held: boolean;
  /** Runs fn once the gate opens (fn is registered once however often it is passed). */
  whenOpen(fn: () => void): void;
  /** Blocks until the pass the commits are held for has ended (or the hold's time is up), then opens. */
  waitOpen(): void;
  /** Counts a writer that asked its producer to pause until the opening. */
  paused(): void;
  /**
   * True while small commits are held too (the short last pass of a hold); otherwise the output of a
   * job that is not streaming (a few lines) goes through a held gate, so that it reaches followers
   * within milliseconds while another job floods.
   */
  readonly holdsAll: boolean;
  /**
   * Tells the gate that a small commit goes through while it is held. Its frames make the pass under
   * way one short of the whole WAL, so the checkpointer runs another (short) pass, with every commit
   * held, before it opens.
   */
  passing(): void;
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
  /** How often a writer paused its producer for a hold. */
  pauses = 0;
  /** Small commits that went through while held (all time), and since the checkpointer last looked. */
  passed = 0;
  private passedUnseen = 0;
  private all = false;

  paused(): void {
    this.pauses++;
  }

  passing(): void {
    this.passed++;
    this.passedUnseen++;
  }

  /** Whether small commits went through since the last call (the checkpointer asks at the end of a held pass). */
  takePassed(): boolean {
    const any = this.passedUnseen > 0;
    this.passedUnseen = 0;
    return any;
  }

  /** From now until the opening, small commits wait too. */
  holdAll(): void {
    if (this.held) this.all = true;
  }

  get holdsAll(): boolean {
    return this.all;
  }

  /** Milliseconds left of the current hold (0 when open). */
  get leftMs(): number {
    return this.held ? Math.max(0, this.deadline - performance.now()) : 0;
  }

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
    this.passedUnseen = 0;
    this.deadline = performance.now() + maxMs;
    this.waitForPass = waitForPass;
    this.timer = setTimeout(() => this.open(), maxMs);
  }

  /** Lets the held commits run now. */
  open(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.all = false;
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
