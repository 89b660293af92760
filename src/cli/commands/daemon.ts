// jobctl daemon [--listen HOST:PORT] [--detach] [--log-level L]: run the supervisor.
import type { Argv } from 'yargs';
import { homePaths, resolveHome } from '../../home/paths.ts';
import { isProcessAlive, lastLogLine } from '../../home/process.ts';
import { JobctlError } from '../../rpc/errors.ts';
import type { GlobalArgs } from '../context.ts';
import { note, out } from '../io.ts';
import { VERSION } from './info.ts';

/** yargs definition of `daemon`. */
export const daemonCommand = {
  command: 'daemon',
  describe: 'run the supervisor (foreground, for systemd; --detach to background it)',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('listen', { type: 'string', describe: 'HOST:PORT to listen on (port 0: any free port; default from config.json, else 127.0.0.1:0)' })
      .option('detach', { type: 'boolean', default: false, describe: 'start in the background and return once it is ready' })
      .option('log-level', { type: 'string', choices: ['error', 'warn', 'info', 'debug'], default: 'info', describe: 'least severe level logged to stderr' })
      .example('$0 daemon --listen 0.0.0.0:7443', 'serve remote users on port 7443'),
  handler: async (args: GlobalArgs & { listen?: string; detach: boolean; logLevel: 'error' | 'warn' | 'info' | 'debug' }): Promise<number> => {
    const home = resolveHome(args.home);
    if (args.detach) return detach(home, args);
    const { createLogger } = await import('../../daemon/logger.ts');
    const { startDaemon } = await import('../../daemon/daemon.ts');
    const logger = createLogger(args.logLevel, { journald: Boolean(process.env.JOURNAL_STREAM || process.env.INVOCATION_ID) });
    const daemon = await startDaemon({ home, listen: args.listen, version: VERSION, logger });
    // Resolves on SIGTERM/SIGINT after the clean shutdown; main then exits 0.
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        logger.info(`received ${signal}`);
        void daemon.close().then(resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    return 0;
  },
};

async function detach(home: string, args: { listen?: string; logLevel: string }): Promise<number> {
  const { spawn } = await import('node:child_process');
  const { openSync, closeSync, existsSync, mkdirSync, readFileSync, statSync } = await import('node:fs');
  const { selfCommand } = await import('../../client/self-command.ts');
  const { readDaemonFile } = await import('../../home/daemon-file.ts');
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

