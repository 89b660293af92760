// jobctl audit [--limit N] [--json]: the record of state-changing calls (admin only).
import type { Argv } from 'yargs';
import { listLimit } from '../../rpc/fields.ts';
import { connect, type GlobalArgs } from '../context.ts';
import { wholeNumberFlag } from '../flag-values.ts';
import { safeText, table } from '../../display/format.ts';
import { out } from '../io.ts';

/** yargs definition of `audit`. */
export const auditCommand = {
  command: 'audit',
  describe: 'who changed what and when (admin only)',
  builder: (y: Argv<GlobalArgs>) => y.option('limit', { type: 'string', default: '50', describe: 'most recent N entries (1 to 10000)' }).option('json', { type: 'boolean', default: false, describe: 'JSON output' }),
  handler: async (args: GlobalArgs & { limit: string }): Promise<number> => {
    const limit = wholeNumberFlag('--limit', args.limit, listLimit);
    const connection = await connect(args);
    const entries = await connection.call('audit.list', { limit });
    if (args.json) out(JSON.stringify(entries, null, 2));
    else out(table(['TIME', 'USER', 'ROLE', 'METHOD', 'TARGET', 'RESULT'], entries.map((e) => [e.time, safeText(e.user), e.role, e.method, safeText(e.target ?? '-'), e.ok ? 'ok' : `refused ${e.errorCode ?? ''}`])).trimEnd());
    return 0;
  },
};
