// jobctl daemon --detach: the background start. Its own module, loaded only by that command, so no
// other command pays for child_process.
import { spawnDetachedDaemon, startupError } from '../client/spawn-daemon.ts';
import { readDaemonFile } from '../home/daemon-file.ts';
import { homePaths } from '../home/paths.ts';
import { isProcessAlive } from '../home/process.ts';
import { JobctlError } from '../rpc/errors.ts';
import { note, out } from './io.ts';

/** How long `daemon --detach` waits for the daemon to write daemon.json. */
const READY_TIMEOUT_MS = 20_000;

/**
 * `jobctl daemon --detach`: starts the daemon in the background, its output appended to daemon.log,
 * and returns once it is ready (printing its endpoint) or has failed (printing its last words).
 */
export async function detachDaemon(home: string, args: { listen?: string; logLevel: string }): Promise<number> {
  const paths = homePaths(home);
  const running = readDaemonFile(paths.daemonJson);
  if (running && isProcessAlive(running.pid)) {
    throw new JobctlError('BUSY', `a jobctl daemon (pid ${running.pid}) is already running for ${home} at ${running.endpoint}; stop it first or use another --home`, { details: { pid: running.pid } });
  }
  const started = spawnDetachedDaemon(home, [...(args.listen ? ['--listen', args.listen] : []), '--log-level', args.logLevel]);
  const { child } = started;
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const info = readDaemonFile(paths.daemonJson);
    if (info && info.pid === child.pid) {
      child.unref();
      out(info.endpoint);
      return 0;
    }
    const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 25))]);
    if (code !== null) {
      // Its own last words say why (lock held, port in use, bad config): show them.
      const why = startupError(home, started);
      note(`jobctl: the daemon exited with status ${code} during start-up${why ? `: ${why}` : ''}; see ${paths.daemonLog}`);
      return 1;
    }
  }
  throw new JobctlError('UNAVAILABLE', `the daemon did not become ready within ${READY_TIMEOUT_MS / 1000} s; see ${paths.daemonLog}`);
}
