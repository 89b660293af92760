// Small statistics helpers for the benchmarks: medians and percentiles of samples measured in one run.

/** The samples sorted ascending (a copy). */
function sorted(samples: readonly number[]): number[] {
  return [...samples].sort((a, b) => a - b);
}

/** The p-th percentile (0–100) by linear interpolation between closest ranks; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const s = sorted(samples);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = s[lo] as number;
  const b = s[hi] as number;
  return a + (b - a) * (rank - lo);
}

/** The median (50th percentile). */
export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** Milliseconds since some fixed point, with sub-millisecond resolution. */
export function nowMs(): number {
  return performance.now();
}

/** Resolves after ms. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A number with a sensible count of significant digits for a table. */
export function fmt(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toString();
  if (abs === 0) return '0';
  return Number(value.toPrecision(digits)).toString();
}

const cleanups = new Set<() => Promise<void> | void>();
let signalled = false;

/**
 * Registers a cleanup to run if the benchmark is interrupted (SIGINT, SIGTERM) before it reaches its
 * own `finally`; returns the function that unregisters it.
 */
export function onInterrupt(cleanup: () => Promise<void> | void): () => void {
  if (cleanups.size === 0 && !signalled) {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        signalled = true;
        process.stderr.write(`\n${sig}: cleaning up\n`);
        void Promise.allSettled([...cleanups].map((c) => c())).then(() => process.exit(130));
      });
    }
  }
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}
