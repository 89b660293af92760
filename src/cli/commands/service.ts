// jobctl service install --user|--system [--print]: writes a systemd unit for the daemon, right for a
// process that manages cgroups. Why each directive is there is said in the unit itself, so that an
// administrator reading /etc/systemd/system/jobctl.service sees it too.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Argv } from 'yargs';
import { homePaths, resolveHome } from '../../home/paths.ts';
import { JobctlError } from '../../rpc/errors.ts';
import type { GlobalArgs } from '../context.ts';
import { out } from '../io.ts';
import { checkListen } from '../listen-arg.ts';
import { VERSION } from './info.ts';

/** Where a system daemon keeps its state (systemd's StateDirectory=jobctl). */
export const SYSTEM_HOME = '/var/lib/jobctl';

/** What a unit is made from. */
export interface UnitOptions {
  scope: 'system' | 'user';
  /** The absolute command that runs jobctl: the executable itself, or node plus the entry script. */
  command: string[];
  home: string;
  listen?: string;
  logLevel?: string;
  /** The daemon's stop grace for jobs (config.json stopGrace), to size TimeoutStopSec. */
  stopGraceMs: number;
}

/** systemd's unit text for options (pure: no I/O). */
export function renderUnit(o: UnitOptions): string {
  const system = o.scope === 'system';
  const exec = [...o.command, 'daemon', ...(o.listen ? ['--listen', o.listen] : []), ...(o.logLevel ? ['--log-level', o.logLevel] : [])];
  const lines = [
    `# Written by \`jobctl service install --${o.scope}\` (jobctl ${VERSION}). Re-run it to update.`,
    '[Unit]',
    'Description=jobctl job supervisor (cgroup-limited jobs over mutual-TLS RPC)',
    ...(system ? ['After=network.target'] : []),
    '',
    '[Service]',
    '# Ready = listening, with daemon.json written: the daemon then runs `systemd-notify --ready`.',
    '# That sender is its child, not the main process, hence NotifyAccess=all.',
    'Type=notify',
    'NotifyAccess=all',
    `ExecStart=${exec.map(quoteArg).join(' ')}`,
    `Environment=${quoteArg(`JOBCTL_HOME=${o.home}`)}`,
    ...(system && o.home === SYSTEM_HOME ? ['StateDirectory=jobctl', 'StateDirectoryMode=0700'] : []),
    '# The single executable unpacks its SQLite addon here.',
    'CacheDirectory=jobctl',
    'CacheDirectoryMode=0700',
    '# Jobs run in cgroups the daemon creates below its own: systemd hands it that subtree (and the',
    '# controllers it may enable there). Without it, limits are refused as not enforceable.',
    'Delegate=yes',
    '# On SIGTERM the daemon stops every job itself (SIGTERM to the whole job, its grace, then kill) and',
    '# records each as stopped. KillMode=mixed sends that SIGTERM to the daemon alone; control-group',
    '# would signal every job at the same moment, behind the daemon\'s back (no grace, wrong records).',
    '# After TimeoutStopSec, SIGKILL still reaches every process left in the unit, jobs included.',
    'KillMode=mixed',
    `TimeoutStopSec=${Math.ceil(o.stopGraceMs / 1000) + 30}s`,
    'Restart=on-failure',
    'RestartSec=2s',
    '# Two pipes per running job, plus client connections.',
    'LimitNOFILE=65536',
    '',
    '[Install]',
    `WantedBy=${system ? 'multi-user.target' : 'default.target'}`,
    '',
  ];
  return lines.join('\n');
}

/** Where the unit goes for scope. */
export function unitPath(scope: 'system' | 'user', env: NodeJS.ProcessEnv = process.env): string {
  if (scope === 'system') return '/etc/systemd/system/jobctl.service';
  const config = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(config, 'systemd', 'user', 'jobctl.service');
}

/** yargs definition of `service`. */
export const serviceCommand = {
  command: 'service <action>',
  describe: 'install a systemd unit for the daemon (Type=notify, Delegate=yes)',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('action', { type: 'string', choices: ['install'], describe: 'what to do' })
      .option('user', { type: 'boolean', describe: 'a user unit in ~/.config/systemd/user (default unless root)' })
      .option('system', { type: 'boolean', describe: `a system unit in /etc/systemd/system, state in ${SYSTEM_HOME} (default for root)` })
      .conflicts('user', 'system')
      .option('print', { type: 'boolean', default: false, describe: 'print the unit instead of writing it' })
      .option('force', { type: 'boolean', default: false, describe: 'replace a different existing unit' })
      .option('listen', { type: 'string', describe: 'HOST:PORT for the daemon (default: config.json, else 127.0.0.1:0)' })
      .option('log-level', { type: 'string', choices: ['error', 'warn', 'info', 'debug'], describe: "the daemon's --log-level" })
      .example('sudo $0 service install --system --listen 0.0.0.0:7443', 'a system daemon serving remote users')
      .example('$0 service install --user && systemctl --user enable --now jobctl', 'a daemon for yourself')
      .example('$0 service install --user --print', 'show the unit without writing it'),
  handler: async (args: GlobalArgs & { user?: boolean; system?: boolean; print: boolean; force: boolean; listen?: string; logLevel?: string }): Promise<number> => {
    if (args.listen !== undefined) checkListen(args.listen);
    const scope = args.system || (!args.user && process.getuid?.() === 0) ? 'system' : 'user';
    const home = scope === 'system' ? (args.home ? resolveHome(args.home) : SYSTEM_HOME) : resolveHome(args.home);
    const { selfCommand } = await import('../../client/self-command.ts');
    const { loadConfig } = await import('../../home/config.ts');
    const self = selfCommand();
    const unit = renderUnit({
      scope,
      command: [self.file, ...self.args],
      home,
      listen: args.listen,
      logLevel: args.logLevel,
      // A bad config.json is reported now rather than at the first start under systemd.
      stopGraceMs: loadConfig(homePaths(home).config).stopGraceMs,
    });
    if (args.print) {
      process.stdout.write(unit);
      return 0;
    }
    const path = unitPath(scope);
    const previous = existsSync(path) ? readFileSync(path, 'utf8') : null;
    if (previous !== null && previous !== unit && !args.force) {
      throw new JobctlError('CONFLICT', `${path} exists with other content; --force replaces it (--print shows the new unit)`);
    }
    if (previous !== unit) writeUnit(path, unit, scope);
    const ctl = scope === 'system' ? 'systemctl' : 'systemctl --user';
    const journal = scope === 'system' ? 'journalctl -u jobctl' : 'journalctl --user -u jobctl';
    out(
      [
        `${previous === unit ? 'unchanged' : 'wrote'} ${path}`,
        `enable and start it:  ${ctl} daemon-reload && ${ctl} enable --now jobctl`,
        `its log:              ${journal} -f`,
        ...(scope === 'user' ? ['keep it running after you log out:  loginctl enable-linger "$USER"'] : []),
        `clients find it through ${join(home, 'daemon.json')}${scope === 'system' ? ` (as root, or with --home ${home})` : ''}`,
      ].join('\n'),
    );
    return 0;
  },
};

function writeUnit(path: string, unit: string, scope: 'system' | 'user'): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    const temp = `${path}.tmp-${process.pid}`;
    writeFileSync(temp, unit, { mode: 0o644 });
    renameSync(temp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint = scope === 'system' && (code === 'EACCES' || code === 'EPERM') ? ': run it as root (sudo), or use --user' : '';
    throw new JobctlError('INTERNAL', `cannot write ${path}: ${code ?? (err as Error).message}${hint}`, { cause: err });
  }
}

// systemd command-line and assignment quoting: "%" starts a specifier and "$" a variable, so both are
// doubled; anything with blanks, quotes or backslashes goes in double quotes with C escapes.
function quoteArg(arg: string): string {
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_@%+=:,./$-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
