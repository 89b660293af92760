// Telling systemd the daemon is ready (Type=notify), once it listens and daemon.json is written, so
// units ordered After=jobctl.service and `systemctl start` itself wait for a daemon that answers.
//
// sd_notify is a datagram on the unix socket $NOTIFY_SOCKET, and Node has no unix datagram sockets,
// so the message is sent by systemd's own `systemd-notify` tool, spawned here. Two facts make that
// correct rather than racy:
// - the sender is a child, not the main process: the unit needs NotifyAccess=all (and --pid names the
//   daemon, so that where the credentials may be set — as root — the message even reads as the main
//   PID's own);
// - systemd-notify (systemd ≥ 246) waits by default until the manager has processed the message
//   (a barrier), so it is still alive — and attributable to the unit's cgroup — when systemd reads it.
//   Never pass --no-block here.
// $NOTIFY_SOCKET is inherited by anything a unit starts: a daemon autostarted or --detach'ed by a client
// running inside some other unit must not report that unit ready. So readiness is sent only when the
// daemon's parent is the service manager itself (PID 1 or a `systemd --user`).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Logger } from './logger.ts';

/** How long systemd-notify may take before the daemon gives up on it (systemd times the start out). */
const NOTIFY_TIMEOUT_MS = 10_000;

/** What notifyReady reads from its surroundings (tests substitute them). */
export interface ReadinessEnvironment {
  env?: NodeJS.ProcessEnv;
  /** The command name of the parent process ("systemd" for the service manager). */
  parentName?: () => string;
}

/**
 * Sends READY=1 (with a status line for `systemctl status`) when started by systemd under a
 * Type=notify unit; does nothing without $NOTIFY_SOCKET. Never throws: a failure is logged, and systemd
 * then reports the start as timed out. Resolves once systemd-notify has finished.
 */
export function notifyReady(status: string, logger: Logger, surroundings: ReadinessEnvironment = {}): Promise<void> {
  const env = surroundings.env ?? process.env;
  if (!env.NOTIFY_SOCKET) return Promise.resolve();
  const parent = (surroundings.parentName ?? parentCommandName)();
  if (parent !== 'systemd') {
    logger.debug('NOTIFY_SOCKET is set but systemd did not start this daemon itself: not reporting readiness', { parent });
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    let settled = false;
    const done = (problem?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (problem) logger.error(`cannot report readiness to systemd: ${problem}`, { hint: 'systemd-notify (package systemd) must be on PATH, and the unit needs NotifyAccess=all' });
      else logger.debug('readiness reported to systemd');
      resolve();
    };
    const child = spawn('systemd-notify', ['--ready', `--pid=${process.pid}`, `--status=${status}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ENOENT' ? 'systemd-notify not found' : err.message));
    child.once('close', (code) => done(code === 0 ? undefined : `systemd-notify exited with status ${code}: ${stderr.trim()}`));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done(`systemd-notify did not finish within ${NOTIFY_TIMEOUT_MS} ms`);
    }, NOTIFY_TIMEOUT_MS);
    timer.unref();
  });
}

function parentCommandName(): string {
  try {
    return readFileSync(`/proc/${process.ppid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}
