// Coded errors shared by every layer and sent over the wire. A code is stable (scripts match on it);
// the message names the thing, the value and, where the user can act, what to do.

/** Every error code jobctl reports. */
export const ERROR_CODES = [
  'INVALID_ARGUMENT', // a field has a bad value (names the field, the value, what is accepted)
  'LIMIT_UNENFORCEABLE', // a requested limit cannot be enforced on this host
  'NOT_FOUND', // no such job / certificate / method
  'PERMISSION_DENIED', // the caller's role or ownership does not allow this
  'UNAUTHENTICATED', // no valid client certificate
  'CONFLICT', // the object is in the wrong state for the call (e.g. job not running)
  'START_FAILED', // the command could not be started (ENOENT, EACCES, missing cwd …)
  'PROTOCOL', // malformed frame, unknown method, version mismatch
  'TOO_LARGE', // a frame or request is over a limit
  'BUSY', // too many in-flight requests, or a lock held by another process
  'UNAVAILABLE', // the daemon cannot be reached
  'INTERNAL', // a bug or an unexpected OS error; the message says what happened
] as const;

/** One error code. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The error every layer throws for an expected failure; crosses the wire as {code, message, details}. */
export class JobctlError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'JobctlError';
    this.code = code;
    this.details = options.details;
  }
}

/** An INVALID_ARGUMENT error naming the field, the value and what would be accepted. */
export function invalidArgument(field: string, value: unknown, accepted: string): JobctlError {
  return new JobctlError('INVALID_ARGUMENT', `invalid ${field} ${describeValue(value)}: ${accepted}`, {
    details: { field },
  });
}

/** A short, safe rendering of a user-supplied value for an error message (quotes, escapes, truncates). */
export function describeValue(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (value === undefined) text = 'undefined';
  else if (typeof value === 'number' || typeof value === 'boolean' || value === null) text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** True when err is a JobctlError (also across bundle copies, by shape). */
export function isJobctlError(err: unknown): err is JobctlError {
  return err instanceof JobctlError || (err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && err.name === 'JobctlError');
}
