import { readFileSync } from 'node:fs';

// Waiting helpers for tests: poll a condition with a deadline instead of sleeping a fixed time.

/** Inside the emulated VM everything is 20–50× slower: stretch deadlines there. */
export const SLOWDOWN = process.env.JOBCTL_VM ? 30 : 1;

/** Resolves with the first truthy value of check(), or rejects after timeoutMs naming what was awaited. */
export async function pollUntil<T>(what: string, check: () => T | Promise<T>, timeoutMs = 5000, intervalMs = 10): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs * SLOWDOWN;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs * SLOWDOWN} ms waiting for ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** True while a process with this PID exists (and is not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
