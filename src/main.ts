// jobctl's entry: picks the role from the command line. The only place that calls process.exit.
import yargs from 'yargs/yargs';
import { isJobctlError } from './rpc/errors.ts';
import { openConnections, type GlobalArgs } from './cli/context.ts';
import { safeText } from './display/format.ts';
import { PipeClosed } from './cli/io.ts';
import { auditCommand } from './cli/commands/audit.ts';
import { certsCommand } from './cli/commands/certs.ts';
import { completionCommand } from './cli/commands/completion.ts';
import { daemonCommand } from './cli/commands/daemon.ts';
import { VERSION, infoCommand } from './cli/commands/info.ts';
import { logsCommand } from './cli/commands/logs.ts';
import { psCommand } from './cli/commands/ps.ts';
import { runCommand } from './cli/commands/run.ts';
import { serviceCommand } from './cli/commands/service.ts';
import { statusCommand } from './cli/commands/status.ts';
import { stopCommand } from './cli/commands/stop.ts';
import { topCommand } from './cli/commands/top.ts';
import { waitCommand } from './cli/commands/wait.ts';

/** A usage mistake (exit status 2), as opposed to a failure (1). */
class UsageError extends Error {}

interface CommandSpec {
  command: string;
  describe: string;
  builder: (y: never) => unknown;
  handler: (args: never) => Promise<number>;
}

const COMMANDS: CommandSpec[] = [runCommand, psCommand, statusCommand, stopCommand, waitCommand, logsCommand, topCommand, certsCommand, infoCommand, auditCommand, daemonCommand, serviceCommand, completionCommand] as unknown as CommandSpec[];

async function main(argv: string[]): Promise<number> {
  let status = 0;
  let parser = yargs(argv)
    .scriptName('jobctl')
    .usage('$0 <command> [options]\n\nRun commands as cgroup-limited jobs; watch, stop and read them from anywhere.')
    .parserConfiguration({ 'populate--': true })
    .option('home', { type: 'string', global: true, describe: 'installation directory (default: $JOBCTL_HOME, else ~/.local/state/jobctl)' })
    .option('endpoint', { type: 'string', global: true, describe: 'daemon to reach: wss://HOST:PORT (default: the local daemon of --home)' })
    .option('identity', { type: 'string', global: true, describe: 'directory with ca.crt, client.crt, client.key (default: the local admin identity)' })
    .option('autostart', { type: 'boolean', global: true, default: true, describe: 'start the local daemon if none runs (--no-autostart, or JOBCTL_NO_AUTOSTART=1/true/yes/on)' });
  skipHelpPrerender(parser);
  for (const spec of COMMANDS) {
    parser = parser.command(spec.command, spec.describe, spec.builder as never, async (args: unknown) => {
      status = await spec.handler(args as never);
    });
  }
  await parser
    // yargs turns a repeated option into an array; only options declared as arrays (--env, --state)
    // may take several values — for the others it is a usage error, not a crash further on.
    .middleware((args) => {
      const arrays = new Set((parser as unknown as { getOptions(): { array: string[] } }).getOptions().array);
      for (const [key, value] of Object.entries(args)) {
        if (Array.isArray(value) && key !== '_' && key !== '--' && !arrays.has(key)) {
          throw new UsageError(`--${key} was given ${value.length} times; give it once`);
        }
      }
    }, true)
    .demandCommand(1, 'name a command (see jobctl --help)')
    .recommendCommands()
    // Answers `--get-yargs-completions WORDS…` for the script `jobctl completion` prints (hidden command name).
    .completion('__completion-script', false)
    .strict()
    .version(VERSION)
    .alias('version', 'V')
    .help()
    .alias('help', 'h')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .epilogue('Exit status: 0 ok, 1 error, 2 usage error; run -f and wait exit with the job status (128 + signal when killed).')
    .fail((message, err) => {
      // yargs reports some usage mistakes (an option missing its value) as its own YError.
      if (err && err.name !== 'YError') throw err;
      throw new UsageError(message ?? err?.message ?? 'invalid command line');
    })
    .parseAsync();
  return status;
}

/**
 * yargs renders the whole help text of a command before running its handler, in case the handler
 * later asks for it (showHelp); none of ours does, and for `jobctl ps` that rendering was ≈ 8 ms of a
 * ≈ 40 ms budget. `--help` itself does not use the pre-rendered text, so it is unchanged.
 */
function skipHelpPrerender(parser: unknown): void {
  const internal = (parser as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } }).getInternalMethods?.();
  const usage = internal?.getUsageInstance?.();
  if (usage?.cacheHelpMessage) usage.cacheHelpMessage = () => {};
}

async function finish(code: number): Promise<never> {
  for (const connection of openConnections) connection.close();
  // Let piped output reach the pipe before exiting, so nothing written is cut off: stdout and stderr
  // are asynchronous pipes here, and process.exit() drops what is still queued. Waiting for 'drain'
  // is not enough — a last write under the high-water mark queues without ever emitting one.
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

/** Resolves once everything written to stream is in the OS's hands (or the stream failed or closed). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('error', () => resolve()).once('close', () => resolve());
    // An empty write is queued behind the others: its callback runs once they are all written.
    stream.write('', () => resolve());
  });
}

main(process.argv.slice(2)).then(finish, (err: unknown) => {
  if (err instanceof PipeClosed) return finish(0);
  // Messages quote what the user typed and what the daemon sent: no control character gets through raw.
  if (err instanceof UsageError) {
    process.stderr.write(`jobctl: ${terminalSafe(err.message)}\nTry "jobctl --help".\n`);
    return finish(2);
  }
  // A bug (not a coded error) is reported in one line; JOBCTL_DEBUG=1 adds the stack.
  const message = isJobctlError(err)
    ? `${err.message}${process.env.JOBCTL_DEBUG ? ` [${err.code}]` : ''}`
    : process.env.JOBCTL_DEBUG
      ? ((err as Error)?.stack ?? String(err))
      : `internal error: ${(err as Error)?.message ?? String(err)} (JOBCTL_DEBUG=1 shows where)`;
  process.stderr.write(`jobctl: ${terminalSafe(message)}\n`);
  return finish(isJobctlError(err) && err.code === 'INVALID_ARGUMENT' ? 2 : 1);
});

/** text with every control character escaped except the line breaks and tabs of a multi-line message. */
function terminalSafe(text: string): string {
  return text
    .split('\n')
    .map((line) => line.split('\t').map(safeText).join('\t'))
    .join('\n');
}

export type { GlobalArgs };
