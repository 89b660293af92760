// session.info, daemon.info and audit.list.
import { LIMIT_NAMES } from '../../rpc/model.ts';
import type { ParamsOf } from '../../rpc/methods.ts';
import { PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '../../rpc/protocol.ts';
import type { AuditEntry, DaemonInfo, SessionInfo } from '../../rpc/results.ts';
import type { Role } from '../../rpc/roles.ts';
import type { ErrorCode } from '../../rpc/errors.ts';
import type { CallContext } from '../context.ts';

/** session.info: who the daemon thinks the caller is. */
export function sessionInfo(_params: ParamsOf<'session.info'>, ctx: CallContext): SessionInfo {
  return { user: ctx.caller.user, role: ctx.caller.role, protocolVersion: PROTOCOL_VERSION, serverVersion: ctx.daemon.version };
}

/** daemon.info: versions, paths, cgroup layout and which limits are enforceable here. */
export function daemonInfo(_params: ParamsOf<'daemon.info'>, ctx: CallContext): DaemonInfo {
  const d = ctx.daemon;
  const caps = d.capabilities;
  const limits = Object.fromEntries(
    LIMIT_NAMES.map((name) => {
      const s = caps?.limits[name];
      const reason = s ? (s.enforceable ? s.via : [s.reason, s.fix && `fix: ${s.fix}`].filter(Boolean).join('; ')) : 'no usable cgroup hierarchy';
      return [name, { enforceable: s?.enforceable ?? false, reason }];
    }),
  ) as DaemonInfo['limits'];
  return {
    serverVersion: d.version,
    protocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS],
    node: process.version,
    pid: process.pid,
    startedAt: d.startedAt.toISOString(),
    endpoint: d.endpoint,
    paths: { home: d.paths.home, database: d.paths.database, pki: d.paths.pki, config: d.paths.config, daemonJson: d.paths.daemonJson },
    cgroup: caps
      ? { layout: caps.layout, killMethod: caps.killMethod, hierarchies: caps.hierarchies, oomDetection: caps.oomDetection, warnings: caps.warnings }
      : { layout: 'none', killMethod: 'process-group' },
    limits,
  };
}

/** audit.list: newest first. */
export function auditList(params: ParamsOf<'audit.list'>, ctx: CallContext): AuditEntry[] {
  return ctx.daemon.store.audit.list({ limit: params.limit ?? 100, beforeId: params.beforeId }).map((e) => ({
    id: e.id,
    time: new Date(e.at).toISOString(),
    user: e.actor,
    role: e.role as Role,
    method: e.action,
    target: e.target,
    ok: e.details.ok !== false,
    errorCode: (e.details.error as ErrorCode | undefined) ?? null,
    details: e.details,
  }));
}
