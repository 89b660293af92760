// jobctl daemon [--listen HOST:PORT] [--detach] [--log-level L]: run the supervisor.
import type { Argv } from 'yargs';
import { resolveHome } from '../../home/paths.ts';
import type { GlobalArgs } from '../context.ts';
import { LISTEN_FORMAT, checkListen } from '../listen-arg.ts';
import { VERSION } from './info.ts';

/** yargs definition of `daemon`. */
export const daemonCommand = {
  command: 'daemon',
  describe: 'run the supervisor (foreground, for systemd; --detach to background it)',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('listen', { type: 'string', describe: `${LISTEN_FORMAT}; default from config.json, else 127.0.0.1:0` })
      .option('detach', { type: 'boolean', default: false, describe: 'start in the background and return once it is ready' })
      .option('log-level', { type: 'string', choices: ['error', 'warn', 'info', 'debug'], default: 'info', describe: 'least severe level logged to stderr' })
      .example('$0 daemon --listen 0.0.0.0:7443', 'serve remote users on port 7443'),
  handler: async (args: GlobalArgs & { listen?: string; detach: boolean; logLevel: 'error' | 'warn' | 'info' | 'debug' }): Promise<number> => {
    // Checked before the daemon (or the detached one) starts: it would fail later with an internal error.
    if (args.listen !== undefined) checkListen(args.listen);
    const home = resolveHome(args.home);
    if (args.detach) {
      const { detachDaemon } = await import('../detach-daemon.ts');
      return detachDaemon(home, args);
    }
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
