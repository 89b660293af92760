// One daemon per home. The lock file holds the owner's PID and process start time; creating it with
// link(2) is atomic, and a lock whose owner is gone (or whose PID now belongs to another process) is
// stale and taken over.
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { JobctlError } from '../rpc/errors.ts';

/** A held lock; release() removes it. */
export interface HomeLock {
  release(): void;
}

/** Takes the home's daemon lock or throws BUSY naming the daemon that holds it. */
export function acquireLock(path: string, startTimeOf: (pid: number) => string | null): HomeLock {
  const mine = `${process.pid} ${startTimeOf(process.pid) ?? ''}\n`;
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, mine, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(temp, path);
        return { release: () => releaseIfMine(path, mine) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = readFileSafe(path);
      const [pidText, startTime] = holder.trim().split(' ');
      const pid = Number(pidText);
      if (pid > 0 && startTime && startTimeOf(pid) === startTime) {
        throw new JobctlError('BUSY', `another jobctl daemon (pid ${pid}) is running for this home (lock ${path}); stop it first or use another --home`, { details: { pid } });
      }
      rmSync(path, { force: true }); // stale: its owner is gone
    }
    throw new JobctlError('BUSY', `could not take the daemon lock ${path}: another daemon is starting at the same time`);
  } finally {
    rmSync(temp, { force: true });
  }
}

function releaseIfMine(path: string, mine: string): void {
  if (readFileSafe(path) === mine) rmSync(path, { force: true });
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
