// The log bytes one socket has been handed but has not yet passed to the kernel, shared by every log
// subscription of that socket. Pacing each subscription alone let a client with many followed jobs
// have HIGH_WATER per subscription queued (256 subscriptions: 256 MiB) while it read steadily, and
// the session cut it off as "too slow" at 16 MiB: the window is the socket's, so what is queued for a
// client stays near HIGH_WATER however many jobs it follows.

/** Log bytes queued on one socket before its log pumps wait. */
export const HIGH_WATER = 1024 * 1024;

/** One socket's send window for log frames. */
export class SendWindow {
  private queued = 0;
  private readonly waiters = new Set<() => void>();
  private closed = false;
  private readonly highWater: number;

  constructor(highWater = HIGH_WATER) {
    this.highWater = highWater;
  }

  /** Bytes handed to the socket and not yet taken by it. */
  get bytesQueued(): number {
    return this.queued;
  }

  /** True while a frame may be sent now (the socket holds no more than the high-water mark). */
  hasRoom(): boolean {
    return this.closed || this.queued <= this.highWater;
  }

  /** Counts a frame handed to the socket; call the returned function once the socket took it (or failed). */
  add(bytes: number): () => void {
    this.queued += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.queued -= bytes;
      // Half the mark: a pump woken sends a good batch before it waits again.
      if (this.queued <= this.highWater / 2) this.wakeAll();
    };
  }

  /**
   * Resolves once the socket has drained to half the high-water mark, the signal aborts, or the
   * window closes. Every waiter is woken together and checks hasRoom() again before it sends, so
   * the socket never holds more than the mark plus one frame; the pumps take turns.
   */
  waitForRoom(signal: AbortSignal): Promise<void> {
    if (this.closed || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** The socket is gone: wakes every waiter (they see the socket closed) and waits no more. */
  close(): void {
    this.closed = true;
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const done of [...this.waiters]) done();
  }
}
