// Where one installation lives: JOBCTL_HOME (or --home), else the XDG state dir for a user, or
// /var/lib/jobctl for a system daemon. Everything of one installation sits under that directory.
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The files of one installation. */
export interface HomePaths {
  home: string;
  database: string;
  pki: string;
  /** The local admin identity (ca.crt, client.crt, client.key) the CLI uses by default. */
  adminIdentity: string;
  daemonJson: string;
  lock: string;
  config: string;
  /** Where a detached daemon writes its log. */
  daemonLog: string;
}

/** Resolves the home directory from --home, JOBCTL_HOME, or the defaults. */
export function resolveHome(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return resolve(explicit);
  if (env.JOBCTL_HOME) return resolve(env.JOBCTL_HOME);
  if (process.getuid?.() === 0 && env.INVOCATION_ID && !env.XDG_STATE_HOME) return '/var/lib/jobctl';
  const state = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(state, 'jobctl');
}

/** The paths of the installation at home. */
export function homePaths(home: string): HomePaths {
  return {
    home,
    database: join(home, 'jobctl.db'),
    pki: join(home, 'pki'),
    adminIdentity: join(home, 'pki', 'admin'),
    daemonJson: join(home, 'daemon.json'),
    lock: join(home, 'daemon.lock'),
    config: join(home, 'config.json'),
    daemonLog: join(home, 'daemon.log'),
  };
}

/** The cgroup subtree name of this installation: stable across restarts, distinct per home. */
export function cgroupInstanceName(home: string): string {
  return `jobctl-${createHash('sha256').update(home).digest('hex').slice(0, 12)}`;
}
