// What every subcommand shares: global options, the connection to the daemon, output streams.
import type { Connection } from '../client/connection.ts';
import { resolveHome } from '../home/paths.ts';
import { envFlag } from './env-flag.ts';

/** Options every subcommand accepts. */
export interface GlobalArgs {
  home?: string;
  endpoint?: string;
  identity?: string;
  autostart: boolean;
  json?: boolean;
}

/** Opens a connection the way the global options say (lazy: TLS and ws load only here). */
export async function connect(args: GlobalArgs): Promise<Connection> {
  const { connectToDaemon } = await import('../client/discover.ts');
  // Checked even with --no-autostart: a misspelt value is reported wherever it is set.
  const autostart = !envFlag('JOBCTL_NO_AUTOSTART') && args.autostart;
  const connection = await connectToDaemon({ home: resolveHome(args.home), endpoint: args.endpoint, identity: args.identity, autostart });
  openConnections.add(connection);
  return connection;
}

/** Connections opened by this process, closed by main before it exits. */
export const openConnections = new Set<Connection>();

/** A subcommand's outcome: the process exit status. */
export type ExitStatus = number;
