// Finding the daemon: --endpoint and --identity reach any daemon; without them the client reads the
// home's daemon.json and its local admin identity, and starts the daemon in the background if none
// answers (unless autostart is off), waiting until it is ready.
import { readFileSync } from 'node:fs';
import { readDaemonFile } from '../home/daemon-file.ts';
import { homePaths } from '../home/paths.ts';
import { isProcessAlive } from '../home/process.ts';
// identity-dir directly: pki/index.ts also pulls node-forge (certificate issuing), ≈ 10 ms per CLI call.
import { readIdentity } from '../pki/identity-dir.ts';
import { JobctlError } from '../rpc/errors.ts';
import { Connection } from './connection.ts';
import { spawnDetachedDaemon, startupError, type StartedDaemon } from './spawn-daemon.ts';

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
  if (existing && isProcessAlive(existing.pid)) {
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
  const started = spawnDaemon(options.home);
  return waitForDaemon(options, options.startTimeoutMs ?? 20_000, started);
}

function spawnDaemon(home: string): StartedDaemon {
  const started = spawnDetachedDaemon(home);
  // The client may exit before the daemon is ready (an error, Ctrl-C): the daemon lives on.
  started.child.unref();
  return started;
}

async function waitForDaemon(options: ConnectOptions, timeoutMs: number, first: StartedDaemon): Promise<Connection> {
  const paths = homePaths(options.home);
  const deadline = Date.now() + timeoutMs;
  let started = first;
  let respawned = false;
  let last: unknown = null;
  let delay = 10;
  while (Date.now() < deadline) {
    // The daemon we started died. If another one holds the home's lock (clients starting at the same
    // time), wait for that one. If none does — ours lost the lock to a daemon that was shutting down,
    // or it could not start at all — start once more, then say why it could not start.
    const info = readDaemonFile(paths.daemonJson);
    const exited = started.child.exitCode !== null || started.child.signalCode !== null;
    if (exited && !lockHolderAlive(paths.lock) && !(info && isProcessAlive(info.pid))) {
      if (!respawned) {
        respawned = true;
        started = spawnDaemon(options.home);
        continue;
      }
      const why = startupError(options.home, started);
      throw new JobctlError('UNAVAILABLE', `the jobctl daemon for ${options.home} could not start${why ? `: ${why}` : ` (exit status ${started.child.exitCode ?? started.child.signalCode})`}; see ${paths.daemonLog}`);
    }
    if (info && isProcessAlive(info.pid)) {
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

/** True when the home's daemon lock names a live process (a daemon runs or is starting). */
function lockHolderAlive(lockPath: string): boolean {
  try {
    const pid = Number(readFileSync(lockPath, 'utf8').trim().split(' ')[0]);
    return pid > 0 && isProcessAlive(pid);
  } catch {
    return false;
  }
}
