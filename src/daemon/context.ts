// What every handler can reach: the daemon's parts, and the calling session.
import type { Capabilities, CgroupHost } from '../cgroup/index.ts';
import type { HomePaths } from '../home/paths.ts';
import type { Supervisor } from '../jobs/supervisor.ts';
import type { Caller } from '../rpc/roles.ts';
import type { Store } from '../store/index.ts';
import type { Logger } from './logger.ts';
import type { Session } from './session.ts';
import type { DaemonConfig } from '../home/config.ts';
import type { CertificateAuthority } from './authority.ts';

/** The daemon's long-lived parts, shared by every session. */
export interface DaemonContext {
  version: string;
  startedAt: Date;
  endpoint: string;
  paths: HomePaths;
  config: DaemonConfig;
  store: Store;
  supervisor: Supervisor;
  cgroups: CgroupHost | null;
  capabilities: Capabilities | null;
  authority: CertificateAuthority;
  logger: Logger;
  /** Live sessions, so that a revocation can drop them. */
  sessions: Set<Session>;
}

/** What one call runs with. */
export interface CallContext {
  daemon: DaemonContext;
  session: Session;
  caller: Caller;
  /** The method being served (for access checks and audit). */
  method: { name: string; access: import('../rpc/access.ts').Access };
}
