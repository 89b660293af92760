// certs.* handlers (admin only): issue client identities, list them, revoke them — a revocation takes
// effect on the next connection and drops the live sessions of the revoked certificates at once.
import type { ParamsOf } from '../../rpc/methods.ts';
import type { CertInfo, IssuedCert, RevokeResult } from '../../rpc/results.ts';
import type { Role } from '../../rpc/roles.ts';
import type { CallContext } from '../context.ts';

/** certs.issue: a new key and certificate for a user; the key is sent once and never stored. */
export function certsIssue(params: ParamsOf<'certs.issue'>, ctx: CallContext): IssuedCert {
  const { authority, store } = ctx.daemon;
  const issued = authority.issueClient(params.user, params.role, params.days);
  store.certs.recordIssued({ serial: issued.serial, user: params.user, role: params.role, notAfter: issued.notAfter.getTime(), issuedBy: ctx.caller.user });
  return { caPem: authority.caPem, certPem: issued.certPem, keyPem: issued.keyPem, serial: issued.serial, notAfter: issued.notAfter.toISOString() };
}

/** certs.list: every certificate the daemon issued, with revocations. */
export function certsList(_params: ParamsOf<'certs.list'>, ctx: CallContext): CertInfo[] {
  return ctx.daemon.store.certs.list().map((c) => ({
    serial: c.serial,
    user: c.user,
    role: c.role as Role,
    issuedAt: new Date(c.issuedAt).toISOString(),
    notAfter: new Date(c.notAfter).toISOString(),
    issuedBy: c.issuedBy || null,
    revokedAt: c.revokedAt === null ? null : new Date(c.revokedAt).toISOString(),
  }));
}

/** certs.revoke: by user (all their certificates) or by serial. */
export function certsRevoke(params: ParamsOf<'certs.revoke'>, ctx: CallContext): RevokeResult {
  const revoked = ctx.daemon.store.certs.revoke({ user: params.user, serial: params.serial }, ctx.caller.user);
  const serials = new Set(revoked);
  for (const session of [...ctx.daemon.sessions]) {
    if (!serials.has(session.serial)) continue;
    // An admin revoking its own certificate still gets the answer: its session closes right after.
    if (session === ctx.session) setImmediate(() => session.close(4403, 'certificate revoked'));
    else session.close(4403, 'certificate revoked');
  }
  return { revoked };
}
