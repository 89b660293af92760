// Delays between reconnection attempts: quick at first, then at most every few seconds.

/** First delay, ms. */
export const BACKOFF_FIRST_MS = 250;
/** Longest delay, ms. */
export const BACKOFF_MAX_MS = 5000;

/** The delay before attempt n (1-based): doubling from 250 ms to 5 s, ±20 % jitter so clients spread out. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}
