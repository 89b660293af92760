// Finding the daemon: --endpoint and --identity reach any daemon; without them the client reads the
// home's daemon.json and its local admin identity, and starts the daemon in the background if none
// answers (unless autostart is off), waiting until it is ready.
import { readFileSync } from 'node:fs';
import { readDaemonFile } from '../home/daemon-file.ts';
import { homePaths } from '../home/paths.ts';
import { isProcessAlive } from '../home/process.ts';
// identity-dir directly: pki/index.ts also pulls node-forge (certificate issuing), ≈ 10 ms per CLI call.
import { checkIdentity, readIdentityFiles } from '../pki/identity-dir.ts';
import { JobctlError } from '../rpc/errors.ts';
import type { Connection } from './connection.ts';
import { dialDaemon } from './dial.ts';
import { sessionFile } from './tls-sessions.ts';
// Types only: child_process and the daemon starter load when a daemon must be started, not for every command.
import type { StartedDaemon } from './spawn-daemon.ts';

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
  const identityDir = options.identity ?? paths.adminIdentity;
  if (options.endpoint) return reach(options.endpoint, identityDir);
  const existing = readDaemonFile(paths.daemonJson);
  if (existing && isProcessAlive(existing.pid)) {
    try {
      return await reach(existing.endpoint, identityDir);
    } catch (err) {
      // A live daemon that refuses us (certificate) must be reported, not restarted.
      if (!(err instanceof JobctlError) || err.code !== 'UNAVAILABLE') throw err;
    }
  }
  if (!options.autostart) {
    throw new JobctlError('UNAVAILABLE', `no jobctl daemon is running for ${options.home}; start one with "jobctl daemon --detach" (autostart is off: --no-autostart or JOBCTL_NO_AUTOSTART=1)`);
  }
  return waitForDaemon(options, identityDir, options.startTimeoutMs ?? 20_000, await import('./spawn-daemon.ts'));
}

/**
 * Dials, then loads the WebSocket layer while the daemon answers the TLS hello, then upgrades. The
 * identity's files are only read here; when the connection fails for another reason than "nobody
 * listens", they are checked so a bad file is named instead of a TLS error.
 */
async function reach(endpoint: string, identityDir: string): Promise<Connection> {
  const pems = readIdentityFiles(identityDir);
  try {
    const dialed = await dialDaemon(endpoint, pems, { sessionFile: sessionFile(endpoint, pems) });
    const { Connection } = await import('./connection.ts');
    return await Connection.over(endpoint, dialed);
  } catch (err) {
    if (!(err instanceof JobctlError && err.code === 'UNAVAILABLE')) checkIdentity(identityDir, pems);
    throw err;
  }
}

/** What starting a daemon takes (spawn-daemon.ts, loaded only when one must be started). */
type DaemonStarter = Pick<typeof import('./spawn-daemon.ts'), 'spawnDetachedDaemon' | 'startupError'>;

async function waitForDaemon(options: ConnectOptions, identityDir: string, timeoutMs: number, starter: DaemonStarter): Promise<Connection> {
  const paths = homePaths(options.home);
  const spawnDaemon = (): StartedDaemon => {
    const started = starter.spawnDetachedDaemon(options.home);
    // The client may exit before the daemon is ready (an error, Ctrl-C): the daemon lives on.
    started.child.unref();
    return started;
  };
  const deadline = Date.now() + timeoutMs;
  let started = spawnDaemon();
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
        started = spawnDaemon();
        continue;
      }
      const why = starter.startupError(options.home, started);
      throw new JobctlError('UNAVAILABLE', `the jobctl daemon for ${options.home} could not start${why ? `: ${why}` : ` (exit status ${started.child.exitCode ?? started.child.signalCode})`}; see ${paths.daemonLog}`);
    }
    if (info && isProcessAlive(info.pid)) {
      try {
        return await reach(info.endpoint, identityDir);
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

/** True when the home's daemon lock names a live process (a daemon runs or is starting). */
function lockHolderAlive(lockPath: string): boolean {
  try {
    const pid = Number(readFileSync(lockPath, 'utf8').trim().split(' ')[0]);
    return pid > 0 && isProcessAlive(pid);
  } catch {
    return false;
  }
}
