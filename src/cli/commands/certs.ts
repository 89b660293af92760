// jobctl certs init|issue|list|revoke: the daemon's PKI. issue/list/revoke go through the daemon
// (admin only, audited); init creates the PKI locally without starting a daemon (e.g. before systemd).
import type { Argv } from 'yargs';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { hostname, userInfo } from 'node:os';
import { JobctlError, invalidArgument } from '../../rpc/errors.ts';
import { certDays, serial as serialField, userName } from '../../rpc/fields.ts';
import { ROLES } from '../../rpc/roles.ts';
import { homePaths, resolveHome } from '../../home/paths.ts';
import { connect, type GlobalArgs } from '../context.ts';
import { safeText, table } from '../../display/format.ts';
import { checkFlag, renameFields, wholeNumberFlag } from '../flag-values.ts';
import { out } from '../io.ts';
import { prepareOutputDir } from '../output-dir.ts';

/** yargs definition of `certs`. */
export const certsCommand = {
  command: 'certs <action>',
  describe: 'manage client certificates: init, issue, list, revoke',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('action', { type: 'string', choices: ['init', 'issue', 'list', 'revoke'], describe: 'what to do' })
      .option('user', { type: 'string', describe: 'user name (issue: the new identity; revoke: every certificate of this user)' })
      .option('role', { type: 'string', choices: ROLES as unknown as string[], describe: 'role of the new identity (issue)' })
      .option('out', { type: 'string', describe: 'directory to write ca.crt, client.crt, client.key into (issue): created (0700) if missing, checked writable before the certificate is issued; one that already holds an identity is refused unless --force' })
      .option('force', { type: 'boolean', default: false, describe: 'issue: replace the identity already in --out (its certificate stays valid until revoked)' })
      .option('days', { type: 'string', describe: 'validity in days, 1 to 3650 (issue; default 365)' })
      .option('serial', { type: 'string', describe: 'revoke this one certificate' })
      .option('json', { type: 'boolean', default: false, describe: 'JSON output' })
      .example('$0 certs issue --user alice --role user --out ./alice', 'an identity for alice')
      .example('$0 certs revoke --user alice', "revoke all of alice's certificates (live sessions are dropped)"),
  handler: async (args: GlobalArgs & { action: string; user?: string; role?: string; out?: string; force: boolean; days?: string; serial?: string }): Promise<number> => {
    const { writeIdentity, ensureDaemonPki, identityPaths } = await import('../../pki/index.ts');
    if (args.action === 'init') {
      const paths = homePaths(resolveHome(args.home));
      const pki = ensureDaemonPki(paths.pki, { extraNames: [hostname()], localUser: userInfo().username });
      out(args.json ? JSON.stringify({ pki: paths.pki, adminIdentity: paths.adminIdentity, adminSerial: pki.admin.serial }) : `PKI ready in ${paths.pki}; local admin identity in ${paths.adminIdentity}`);
      return 0;
    }
    const days = args.days === undefined ? undefined : wholeNumberFlag('--days', args.days, certDays);
    if (args.user !== undefined) checkFlag('--user', args.user, args.user, userName);
    if (args.serial !== undefined) checkFlag('--serial', args.serial, args.serial, serialField);
    let outDir = '';
    if (args.action === 'issue') {
      // Checked before the daemon is asked: a certificate issued into a directory that cannot take it
      // would be recorded (and audited) with a key nobody has.
      if (!args.out) throw invalidArgument('--out', '', 'certs issue needs --out DIR (where to write ca.crt, client.crt, client.key)');
      if (!args.user) throw invalidArgument('--user', '', 'certs issue needs --user NAME (the new identity)');
      if (!args.role) throw invalidArgument('--role', '', `certs issue needs --role ${ROLES.join('|')}`);
      const present = Object.values(identityPaths(resolve(args.out))).filter((p) => existsSync(p));
      if (present.length > 0 && !args.force) {
        throw new JobctlError('CONFLICT', `${resolve(args.out)} already holds an identity (${present.join(', ')}); choose another directory, remove it first, or replace it with --force`);
      }
      // Last of the checks, as it may create the directory.
      outDir = prepareOutputDir(args.out);
    }
    if (args.action === 'revoke' && (args.user === undefined) === (args.serial === undefined)) {
      throw invalidArgument('certs revoke', args.user ?? args.serial ?? '', 'exactly one of --user NAME (all of their certificates) or --serial S (one)');
    }
    const connection = await connect(args);
    if (args.action === 'issue') {
      const issued = await renameFields(
        connection.call('certs.issue', { user: args.user as string, role: args.role as 'user', ...(days !== undefined ? { days } : {}) }),
        days === undefined ? [] : [{ field: 'days', flag: '--days', typed: String(args.days), sent: days }],
      );
      const dir = outDir;
      writeIdentity(dir, { caPem: issued.caPem, certPem: issued.certPem, keyPem: issued.keyPem }, { overwrite: args.force });
      out(args.json ? JSON.stringify({ serial: issued.serial, notAfter: issued.notAfter, dir }) : `issued ${args.role} identity for ${args.user} (serial ${issued.serial}, valid until ${issued.notAfter}) in ${dir}`);
      return 0;
    }
    if (args.action === 'list') {
      const certs = await connection.call('certs.list', {});
      if (args.json) out(JSON.stringify(certs, null, 2));
      else out(table(['SERIAL', 'USER', 'ROLE', 'NOT AFTER', 'REVOKED'], certs.map((c) => [c.serial, safeText(c.user), c.role, c.notAfter, c.revokedAt ?? '-'])).trimEnd());
      return 0;
    }
    const result = await connection.call('certs.revoke', args.serial !== undefined ? { serial: args.serial } : { user: args.user as string });
    out(args.json ? JSON.stringify(result) : result.revoked.length === 0 ? 'nothing to revoke (already revoked or no such certificate)' : `revoked ${result.revoked.join(', ')}`);
    return 0;
  },
};
