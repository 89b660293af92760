// Who may call what: the access rule each method carries in the table, and the checks the daemon
// applies with it. Pure policy; the daemon supplies the caller and the job's owner.
import { JobctlError } from './errors.ts';
import { ROLES, type Caller, type Role } from './roles.ts';

/** A method's access rule. */
export interface Access {
  /** Roles that may call the method at all. */
  readonly roles: readonly Role[];
  /** Roles that reach only jobs they own: the handler checks each job with checkJobAccess. */
  readonly ownJobsOnly: readonly Role[];
}

/** Any authenticated caller; no job involved (session.info, unsubscribe calls). */
export const ANY: Access = { roles: ROLES, ownJobsOnly: [] };
/** Reading jobs: admin and viewer see every job, user only its own. */
export const READ_JOBS: Access = { roles: ROLES, ownJobsOnly: ['user'] };
/** Starting or controlling jobs: admin any job, user its own, viewer nothing. */
export const CONTROL_JOBS: Access = { roles: ['admin', 'user'], ownJobsOnly: ['user'] };
/** Certificates, audit log: admin only. */
export const ADMIN_ONLY: Access = { roles: ['admin'], ownJobsOnly: [] };

/** Throws PERMISSION_DENIED unless caller's role may call method at all. */
export function checkRole(method: { name: string; access: Access }, caller: Caller): void {
  if (!method.access.roles.includes(caller.role)) {
    throw new JobctlError(
      'PERMISSION_DENIED',
      `${caller.user} (role ${caller.role}) may not call ${method.name}: it needs role ${method.access.roles.join(' or ')}`,
      { details: { method: method.name, role: caller.role } },
    );
  }
}

/** True when caller reaches every owner's jobs through method (else only its own). */
export function seesAllJobs(method: { access: Access }, caller: Caller): boolean {
  return !method.access.ownJobsOnly.includes(caller.role);
}

/** Throws PERMISSION_DENIED when method, called by caller, may not touch this job. */
export function checkJobAccess(method: { name: string; access: Access }, caller: Caller, job: { id: number; owner: string }): void {
  checkRole(method, caller);
  if (job.owner !== caller.user && !seesAllJobs(method, caller)) {
    throw new JobctlError(
      'PERMISSION_DENIED',
      `job ${job.id} belongs to another user; ${caller.user} (role ${caller.role}) reaches only its own jobs with ${method.name}`,
      { details: { method: method.name, id: job.id } },
    );
  }
}
