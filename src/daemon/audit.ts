// Every state-changing call, allowed or refused, is recorded: who, what, on what, when, and how it ended.
// Parameters are summarised, never stored whole: env values and keys must not end up in the audit log.
import { describeValue, isJobctlError } from '../rpc/errors.ts';
import type { Caller } from '../rpc/roles.ts';
import type { DaemonContext } from './context.ts';

/**
 * Records one audited call. Never throws: it also runs for refused calls, whose params are the
 * client's raw, unvalidated JSON (an argv element may be an object that String() cannot convert).
 */
export function recordAudit(daemon: DaemonContext, caller: Caller, method: string, params: unknown, result: unknown, error: unknown): void {
  try {
    record(daemon, caller, method, params, result, error);
  } catch (err) {
    daemon.logger.error('could not record audit entry', { method, user: caller.user, error: (err as Error)?.message ?? String(err) });
  }
}

function record(daemon: DaemonContext, caller: Caller, method: string, params: unknown, result: unknown, error: unknown): void {
  const p = (params !== null && typeof params === 'object' ? params : {}) as Record<string, unknown>;
  const r = (result ?? {}) as Record<string, unknown>;
  const target = typeof p.id === 'number' ? `job ${p.id}` : typeof r.id === 'number' ? `job ${r.id}` : typeof p.user === 'string' ? `user ${p.user}` : typeof p.serial === 'string' ? `cert ${p.serial}` : null;
  const details: Record<string, unknown> = {};
  if (Array.isArray(p.argv)) details.argv = p.argv.slice(0, 16).map((a) => (typeof a === 'string' ? a : describeValue(a)).slice(0, 200));
  if (typeof p.role === 'string') details.role = p.role;
  if (typeof p.graceMs === 'number') details.graceMs = p.graceMs;
  if (Array.isArray(r.revoked)) details.revoked = r.revoked;
  if (typeof r.serial === 'string') details.serial = r.serial;
  details.ok = error === undefined || error === null;
  if (!details.ok) details.error = isJobctlError(error) ? error.code : 'INTERNAL';
  try {
    daemon.store.audit.record({ actor: caller.user, role: caller.role, action: method, target, details });
  } catch (err) {
    daemon.logger.error('could not record audit entry', { method, user: caller.user, error: (err as Error).message });
  }
  daemon.logger.info(`${caller.user} ${method}${target ? ` ${target}` : ''} ${details.ok ? 'ok' : `refused ${String(details.error)}`}`);
}
