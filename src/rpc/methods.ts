// The one method table both ends share. Each entry carries its wire name (noun.verb), a validator for
// its parameters (the daemon runs it on every request; its return type IS the params type), the
// result type (phantom, types only, like vscode-jsonrpc's RequestType<P, R>), the access rule, and
// whether the call is audited or may block. Client and daemon derive everything from METHODS.
import { ADMIN_ONLY, ANY, CONTROL_JOBS, READ_JOBS, type Access } from './access.ts';
import { JobctlError, invalidArgument } from './errors.ts';
import * as f from './fields.ts';
import type { JobInfo } from './model.ts';
import type { AuditEntry, CertInfo, DaemonInfo, Empty, IssuedCert, RevokeResult, SessionInfo, Subscription } from './results.ts';
import { boolean, object, optional, refine, type Validator } from './validate.ts';

/** One RPC method: name N, parameters P (validated), result R (types only). */
export interface MethodDef<N extends string, P, R> {
  readonly name: N;
  /** Checks untrusted params (path "params") and returns them typed; throws INVALID_ARGUMENT. */
  readonly params: Validator<P>;
  readonly access: Access;
  /** State-changing: the daemon records every call, allowed or refused, in the audit log. */
  readonly audited: boolean;
  /** May take unbounded time (job.wait, a follow): a client must not put a call timeout on it. */
  readonly blocking: boolean;
  /** Never set; carries R for the type system. */
  readonly __result?: R;
}

/** A method of unknown name and types, as found by a lookup at run time. */
export type AnyMethod = MethodDef<string, unknown, unknown>;

type Flags = { audited?: boolean; blocking?: boolean };

// Curried so that R is written out while N and P are inferred from the arguments.
function method<R>() {
  return <const N extends string, P>(name: N, params: Validator<P>, access: Access, flags: Flags = {}): MethodDef<N, P, R> => ({
    name,
    params,
    access,
    audited: flags.audited ?? false,
    blocking: flags.blocking ?? false,
  });
}

const none = object({});

// Declared apart from the table: inside it, inference of atMostOne's key list would be lost.
const logsSubscribeParams = atMostOne(
  object({
    id: f.id,
    afterSeq: optional(f.seq),
    tailLines: optional(f.tailLines),
    streams: optional(f.streams),
    follow: boolean(),
  }),
  ['afterSeq', 'tailLines'],
);

/** Every method, keyed by its wire name. */
export const METHODS = {
  'session.info': method<SessionInfo>()('session.info', none, ANY),
  'daemon.info': method<DaemonInfo>()('daemon.info', none, ANY),

  'job.start': method<JobInfo>()('job.start', f.jobSpec, CONTROL_JOBS, { audited: true }),
  // Newest first. all: include every owner's jobs the caller may see (admin, viewer; a user sees only
  // its own anyway); beforeId: the next page, after the smallest id of the previous one.
  'job.list': method<JobInfo[]>()(
    'job.list',
    object({ all: optional(boolean()), limit: optional(f.listLimit), states: optional(f.states), beforeId: optional(f.id) }),
    READ_JOBS,
  ),
  'job.get': method<JobInfo>()('job.get', object({ id: f.id }), READ_JOBS),
  'job.stop': method<JobInfo>()('job.stop', object({ id: f.id, graceMs: optional(f.graceMs) }), CONTROL_JOBS, {
    audited: true,
    blocking: true,
  }),
  'job.wait': method<JobInfo>()('job.wait', object({ id: f.id }), READ_JOBS, { blocking: true }),

  // Where to start: afterSeq (resume after that chunk), tailLines (the last N lines), or neither (byte 0).
  // follow: keep streaming until the job ends (then logs.end "finished"); else end after what is stored.
  'logs.subscribe': method<Subscription>()('logs.subscribe', logsSubscribeParams, READ_JOBS),
  'logs.unsubscribe': method<Empty>()('logs.unsubscribe', object({ subscription: f.subscriptionId }), ANY),
  // all: events of every owner's jobs the caller may see; usage: also periodic job.usage events.
  'events.subscribe': method<Subscription>()(
    'events.subscribe',
    object({ all: optional(boolean()), usage: optional(boolean()) }),
    READ_JOBS,
  ),
  'events.unsubscribe': method<Empty>()('events.unsubscribe', object({ subscription: f.subscriptionId }), ANY),

  'certs.issue': method<IssuedCert>()(
    'certs.issue',
    object({ user: f.userName, role: f.role, days: optional(f.certDays) }),
    ADMIN_ONLY,
    { audited: true },
  ),
  'certs.list': method<CertInfo[]>()('certs.list', none, ADMIN_ONLY),
  'certs.revoke': method<RevokeResult>()('certs.revoke', exactlyOne(object({ user: optional(f.userName), serial: optional(f.serial) })), ADMIN_ONLY, {
    audited: true,
  }),
  'audit.list': method<AuditEntry[]>()('audit.list', object({ limit: optional(f.listLimit), beforeId: optional(f.id) }), ADMIN_ONLY),
} as const;

/** The wire name of a method. */
export type MethodName = keyof typeof METHODS;

/** The validated parameters of method M (what the client sends and the handler receives). */
export type ParamsOf<M extends MethodName> = (typeof METHODS)[M] extends MethodDef<string, infer P, unknown> ? P : never;

/** The result of method M. */
export type ResultOf<M extends MethodName> = (typeof METHODS)[M] extends MethodDef<string, unknown, infer R> ? R : never;

/** One handler per method, checked for exhaustiveness: the daemon's dispatch table has this type. */
export type MethodHandlers<Ctx> = { [M in MethodName]: (params: ParamsOf<M>, ctx: Ctx) => ResultOf<M> | Promise<ResultOf<M>> };

/** All method names, in table order. */
export const METHOD_NAMES = Object.keys(METHODS) as MethodName[];

/** True when name is a known method (own keys only: "toString" or "__proto__" are not methods). */
export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(METHODS, name);
}

/** The method called name, or a PROTOCOL error listing what this daemon serves. */
export function getMethod(name: string): AnyMethod {
  if (!isMethodName(name)) {
    throw new JobctlError('PROTOCOL', `unknown method ${JSON.stringify(name.slice(0, 100))}; this daemon serves ${METHOD_NAMES.join(', ')}`, {
      details: { method: name.slice(0, 100) },
    });
  }
  return METHODS[name] as AnyMethod;
}

/** Validates untrusted params for method M (error paths start with "params"). */
export function validateParams<M extends MethodName>(name: M, params: unknown): ParamsOf<M> {
  return (METHODS[name] as AnyMethod).params(params, 'params') as ParamsOf<M>;
}

// Options that each pick a starting point exclude one another.
function atMostOne<T extends object>(inner: Validator<T>, keys: ReadonlyArray<keyof T & string>): Validator<T> {
  return refine(inner, (value, path) => {
    const given = keys.filter((k) => value[k] !== undefined);
    if (given.length > 1) throw invalidArgument(path, value, `at most one of ${keys.join(', ')} (got ${given.join(' and ')})`);
    return value;
  });
}

// certs.revoke takes a user (all their certificates) or one serial, not both and not neither.
function exactlyOne<T extends { user?: string; serial?: string }>(inner: Validator<T>): Validator<T> {
  return refine(inner, (value, path) => {
    if ((value.user === undefined) === (value.serial === undefined)) {
      throw invalidArgument(path, value, 'exactly one of user (revoke all of their certificates) or serial (revoke one)');
    }
    return value;
  });
}
