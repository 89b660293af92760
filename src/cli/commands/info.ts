// jobctl info [--json]: versions, paths, the cgroup layout and which limits are enforceable here.
import type { Argv } from 'yargs';
import { resolveHome } from '../../home/paths.ts';
import { LIMIT_NAMES } from '../../rpc/model.ts';
import { PROTOCOL_VERSION } from '../../rpc/protocol.ts';
import { connect, type GlobalArgs } from '../context.ts';
import { palette, useColor } from '../../display/format.ts';
import { out } from '../io.ts';

/** The version of this build (set by the bundler from package.json). */
export const VERSION: string = typeof __JOBCTL_VERSION__ === 'string' ? __JOBCTL_VERSION__ : '0.0.0-dev';

/** yargs definition of `info`. */
export const infoCommand = {
  command: 'info',
  describe: 'versions, paths, cgroup layout and which limits the daemon can enforce',
  builder: (y: Argv<GlobalArgs>) => y.option('json', { type: 'boolean', default: false, describe: 'JSON output' }),
  handler: async (args: GlobalArgs): Promise<number> => {
    const connection = await connect(args);
    const [daemon, session] = await Promise.all([connection.call('daemon.info', {}), connection.call('session.info', {})]);
    const client = { version: VERSION, node: process.version, protocolVersion: PROTOCOL_VERSION, home: resolveHome(args.home) };
    if (args.json) {
      out(JSON.stringify({ client, session, daemon }, null, 2));
      return 0;
    }
    const c = palette(useColor(process.stdout));
    const lines = [
      `client     jobctl ${client.version} (node ${client.node}, protocol v${client.protocolVersion})`,
      `daemon     jobctl ${daemon.serverVersion} (node ${daemon.node}, pid ${daemon.pid}) at ${daemon.endpoint}, up since ${daemon.startedAt}`,
      `you        ${session.user} (role ${session.role})`,
      ...Object.entries(daemon.paths).map(([k, v]) => `${k.padEnd(10)} ${v}`),
      `cgroups    layout ${String(daemon.cgroup.layout)}, stop by ${String(daemon.cgroup.killMethod)}`,
      'limits:',
      ...LIMIT_NAMES.map((n) => {
        const s = daemon.limits[n];
        return `  ${n.padEnd(8)} ${s.enforceable ? c.green('enforceable') : c.red('not enforceable')}${s.reason ? `  ${s.reason}` : ''}`;
      }),
    ];
    out(lines.join('\n'));
    return 0;
  },
};
