// Finding the daemon: --endpoint and --identity reach any daemon; without them the client reads the
// home's daemon.json and its local admin identity, and starts the daemon in the background if none
// answers (unless autostart is off), waiting until it is ready.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { readDaemonFile } from '../home/daemon-file.ts';
import { homePaths } from '../home/paths.ts';
import { readIdentity } from '../pki/index.ts';
import { JobctlError } from '../rpc/errors.ts';
import { Connection } from './connection.ts';
import { selfCommand } from './self-command.ts';

/** Where and how to connect. */
export interface ConnectOptions {
  home: string;
  endpoint?: string;
  identity?: string;
  autostart: boolean;
  /** How long to wait for an autostarted daemon (default 20 s). */
  startTimeoutMs?: number;
}

/** Connects to the daemon the options name, starting the local one if needed and allowed. */
export async function connectToDaemon(options: ConnectOptions): Promise<Connection> {
  const paths = homePaths(options.home);
  if (options.endpoint) {
    const identity = readIdentity(options.identity ?? paths.adminIdentity);
    return Connection.open(options.endpoint, toPems(identity));
  }
  const existing = readDaemonFile(paths.daemonJson);
  if (existing && isAlive(existing.pid)) {
    try {
      return await Connection.open(existing.endpoint, toPems(readIdentity(options.identity ?? paths.adminIdentity)));
    } catch (err) {
      // A live daemon that refuses us (certificate) must be reported, not restarted.
      if (!(err instanceof JobctlError) || err.code !== 'UNAVAILABLE') throw err;
    }
  }
  if (!options.autostart) {
    throw new JobctlError('UNAVAILABLE', `no jobctl daemon is running for ${options.home}; start one with "jobctl daemon --detach" (autostart is off: --no-autostart or JOBCTL_NO_AUTOSTART=1)`);
  }
  startDaemon(options.home);
  return waitForDaemon(options, options.startTimeoutMs ?? 20_000);
}

/** Starts the home's daemon detached, with its output in daemon.log. */
export function startDaemon(home: string): number {
  const paths = homePaths(home);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const log = openSync(paths.daemonLog, 'a', 0o600);
  try {
    const self = selfCommand();
    const child = spawn(self.file, [...self.args, 'daemon', '--home', home], { detached: true, stdio: ['ignore', log, log], env: { ...process.env, JOBCTL_DETACHED: '1' } });
    child.unref();
    return child.pid ?? -1;
  } finally {
    closeSync(log);
  }
}

async function waitForDaemon(options: ConnectOptions, timeoutMs: number): Promise<Connection> {
  const paths = homePaths(options.home);
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  let delay = 10;
  while (Date.now() < deadline) {
    const info = readDaemonFile(paths.daemonJson);
    if (info && isAlive(info.pid)) {
      try {
        return await Connection.open(info.endpoint, toPems(readIdentity(options.identity ?? paths.adminIdentity)));
      } catch (err) {
        last = err;
        if (err instanceof JobctlError && err.code === 'UNAUTHENTICATED') throw err;
      }
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 200);
  }
  throw new JobctlError('UNAVAILABLE', `the jobctl daemon for ${options.home} did not become ready within ${timeoutMs / 1000} s; see ${paths.daemonLog}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

function toPems(identity: { caPem: string; certPem: string; keyPem: string }) {
  return { caPem: identity.caPem, certPem: identity.certPem, keyPem: identity.keyPem };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
