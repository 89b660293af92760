// Wakes the followers of a job after each commit of its output: in-process, no timer, no polling.

/** Per-job sets of waiting followers. */
export class CommitNotifier {
  private readonly waiters = new Map<number, Set<() => void>>();

  /**
   * Resolves at the job's next {@link notify}, or when the signal fires (never rejects). The waiter
   * is registered before this returns, so a caller that found nothing new and calls wait() in the
   * same synchronous step cannot miss a commit.
   */
  wait(jobId: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(jobId);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(jobId, set);
      }
      const jobWaiters = set;
      const done = (): void => {
        jobWaiters.delete(done);
        if (jobWaiters.size === 0 && this.waiters.get(jobId) === jobWaiters) this.waiters.delete(jobId);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      jobWaiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Wakes every follower waiting on the job. */
  notify(jobId: number): void {
    const set = this.waiters.get(jobId);
    if (set === undefined) return;
    this.waiters.delete(jobId);
    for (const done of set) done();
  }

  /** Wakes everyone (the store is closing). */
  notifyAll(): void {
    for (const jobId of [...this.waiters.keys()]) this.notify(jobId);
  }

  /** How many followers are waiting on the job (for tests and diagnostics). */
  waiting(jobId: number): number {
    return this.waiters.get(jobId)?.size ?? 0;
  }
}
