// Signal names and numbers, for results ("SIGKILL") and shell-style exit statuses (128 + number).
import { constants } from 'node:os';

/** The number of a signal name (e.g. "SIGTERM" → 15), or null for an unknown name. */
export function signalNumber(name: string): number | null {
  const n = (constants.signals as Record<string, number>)[name];
  return typeof n === 'number' ? n : null;
}

/** The exit status a shell would report for a job: its exit code, or 128 + the signal number. */
export function shellExitStatus(exitCode: number | null, signal: string | null): number {
  if (exitCode !== null) return exitCode;
  if (signal !== null) return 128 + (signalNumber(signal) ?? 0);
  return 1;
}
