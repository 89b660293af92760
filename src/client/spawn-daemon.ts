// Starting the daemon of a home in the background: for autostart (discover.ts) and for
// `jobctl daemon --detach`. Its output is appended to the home's daemon.log, so why it could not
// start can be read back from where this start's output begins.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { homePaths } from '../home/paths.ts';
import { lastLogLine } from '../home/process.ts';
import { selfCommand } from './self-command.ts';

/** A daemon process just started, and where its output begins in daemon.log. */
export interface StartedDaemon {
  child: ChildProcess;
  logOffset: number;
}

/** Starts `jobctl daemon --home HOME EXTRA…` detached (own session, no terminal), output to daemon.log. */
export function spawnDetachedDaemon(home: string, extraArgs: readonly string[] = []): StartedDaemon {
  const paths = homePaths(home);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const log = openSync(paths.daemonLog, 'a', 0o600);
  try {
    const logOffset = fstatSync(log).size;
    const self = selfCommand();
    const child = spawn(self.file, [...self.args, 'daemon', '--home', home, ...extraArgs], { detached: true, stdio: ['ignore', log, log] });
    child.on('error', () => undefined); // seen as an exit by the callers' checks
    return { child, logOffset };
  } finally {
    closeSync(log);
  }
}

/** The last line the daemon wrote to daemon.log since it was started, without main's "jobctl: " prefix. */
export function startupError(home: string, started: StartedDaemon): string {
  try {
    return lastLogLine(readFileSync(homePaths(home).daemonLog).subarray(started.logOffset).toString('utf8'));
  } catch {
    return '';
  }
}
