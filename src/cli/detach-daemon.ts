// jobctl daemon --detach: the background start. Its own module, loaded only by that command, so no
// other command pays for child_process.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { selfCommand } from '../client/self-command.ts';
import { readDaemonFile } from '../home/daemon-file.ts';
import { homePaths } from '../home/paths.ts';
import { isProcessAlive, lastLogLine } from '../home/process.ts';
import { JobctlError } from '../rpc/errors.ts';
import { note, out } from './io.ts';

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
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const logStart = existsSync(paths.daemonLog) ? statSync(paths.daemonLog).size : 0;
  const log = openSync(paths.daemonLog, 'a', 0o600);
  const self = selfCommand();
  const extra = [...(args.listen ? ['--listen', args.listen] : []), '--log-level', args.logLevel];
  const child = spawn(self.file, [...self.args, 'daemon', '--home', home, ...extra], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  const deadline = Date.now() + 20_000;
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
      const why = lastLogLine(readFileSync(paths.daemonLog, 'utf8').slice(logStart));
      note(`jobctl: the daemon exited with status ${code} during start-up${why ? `: ${why}` : ''}; see ${paths.daemonLog}`);
      return 1;
    }
  }
  throw new JobctlError('UNAVAILABLE', `the daemon did not become ready within 20 s; see ${paths.daemonLog}`);
}

