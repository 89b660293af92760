// Per-job usage over time, from the daemon's job.usage events (about one a second): CPU % from the
// change in CPU time between samples, and a short history of CPU % and memory for sparklines.
import type { Usage } from '../../rpc/model.ts';

/** Samples kept per job. */
export const HISTORY_SAMPLES = 60;

/** A job's recent usage. Immutable: add() returns a new value. */
export interface UsageHistory {
  /** Wall time (ms) and CPU time (µs) of the last sample. */
  readonly lastAt: number;
  readonly lastCpuUsec: number;
  /** CPU % over the last interval (100 = one core busy); null until two samples arrived. */
  readonly cpuPercent: number | null;
  readonly cpu: readonly number[];
  readonly memory: readonly number[];
}

/** The history before any sample. */
export const EMPTY_HISTORY: UsageHistory = { lastAt: 0, lastCpuUsec: 0, cpuPercent: null, cpu: [], memory: [] };

/** The history with one more sample taken at `at` (ms). */
export function addUsage(history: UsageHistory, usage: Usage, at: number): UsageHistory {
  let cpuPercent = history.cpuPercent;
  let cpu = history.cpu;
  if (history.lastAt > 0 && at > history.lastAt && usage.cpuUsec >= history.lastCpuUsec) {
    cpuPercent = ((usage.cpuUsec - history.lastCpuUsec) / ((at - history.lastAt) * 1000)) * 100;
    cpu = bounded([...history.cpu, cpuPercent]);
  }
  return { lastAt: at, lastCpuUsec: usage.cpuUsec, cpuPercent, cpu, memory: bounded([...history.memory, usage.memoryBytes]) };
}

function bounded(values: number[]): number[] {
  return values.length > HISTORY_SAMPLES ? values.slice(-HISTORY_SAMPLES) : values;
}
