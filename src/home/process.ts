// Small facts about the home's daemon process, shared by autostart (client/) and `daemon --detach` (cli/).

/** True while a process with this PID exists (EPERM: it exists but belongs to another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The last non-empty line of a daemon's output, without the "jobctl: " prefix main puts on errors. */
export function lastLogLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return (lines.at(-1) ?? '').replace(/^jobctl: /, '').slice(0, 500);
}
