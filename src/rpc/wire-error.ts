// Errors on the wire: a JobctlError crosses as {code, message, details}; anything else becomes
// INTERNAL with its message only. Stacks and causes never leave the process (they may hold paths and
// internals a remote client has no business seeing); the daemon logs them locally.
import { ERROR_CODES, JobctlError, isJobctlError, type ErrorCode } from './errors.ts';
import { isPlainObject } from './validate.ts';

/** An error as it travels in a response frame. */
export interface WireError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

// A remote message is shown to users; keep it bounded whatever a peer sends.
const MAX_MESSAGE = 4096;

/** True when code is one jobctl defines. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code);
}

/** The wire form of any thrown value. */
export function errorToWire(err: unknown): WireError {
  if (isJobctlError(err) && isErrorCode(err.code)) {
    const wire: WireError = { code: err.code, message: err.message };
    const details = jsonSafe(err.details);
    if (details !== undefined) wire.details = details;
    return wire;
  }
  const message = err instanceof Error ? `${err.name}: ${err.message}` : `non-error value thrown: ${String(err)}`;
  return { code: 'INTERNAL', message: `internal error: ${message.slice(0, MAX_MESSAGE)}` };
}

/** A JobctlError from a wire error; malformed input or an unknown code (a newer peer) becomes INTERNAL. */
export function errorFromWire(wire: unknown): JobctlError {
  if (!isPlainObject(wire) || typeof wire.message !== 'string') {
    return new JobctlError('INTERNAL', 'the peer sent a malformed error (no message)');
  }
  const message = wire.message.slice(0, MAX_MESSAGE);
  const details = isPlainObject(wire.details) ? wire.details : undefined;
  if (isErrorCode(wire.code)) return new JobctlError(wire.code, message, details ? { details } : {});
  return new JobctlError('INTERNAL', message, { details: { ...details, wireCode: String(wire.code).slice(0, 64) } });
}

// details are built by our own code but may hold a value JSON cannot carry; drop rather than fail.
function jsonSafe(details: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (details === undefined) return undefined;
  try {
    const copy: unknown = JSON.parse(JSON.stringify(details));
    return isPlainObject(copy) ? copy : undefined;
  } catch {
    return undefined;
  }
}
