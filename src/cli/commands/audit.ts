// jobctl audit [--limit N] [--json]: the record of state-changing calls (admin only).
import type { Argv } from 'yargs';
import { connect, type GlobalArgs } from '../context.ts';
import { safeText, table } from '../../display/format.ts';
import { out } from '../io.ts';

/** yargs definition of `audit`. */
export const auditCommand = {
  command: 'audit',
  describe: 'who changed what and when (admin only)',
  builder: (y: Argv<GlobalArgs>) => y.option('limit', { type: 'number', default: 50, describe: 'most recent N entries' }).option('json', { type: 'boolean', default: false, describe: 'JSON output' }),
  handler: async (args: GlobalArgs & { limit: number }): Promise<number> => {
    const connection = await connect(args);
    const entries = await connection.call('audit.list', { limit: args.limit });
    if (args.json) out(JSON.stringify(entries, null, 2));
    else out(table(['TIME', 'USER', 'ROLE', 'METHOD', 'TARGET', 'RESULT'], entries.map((e) => [e.time, safeText(e.user), e.role, e.method, safeText(e.target ?? '-'), e.ok ? 'ok' : `refused ${e.errorCode ?? ''}`])).trimEnd());
    return 0;
  },
};
