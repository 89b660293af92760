// JSON text frames: requests, responses, events. decodeFrame is the first thing untrusted bytes meet,
// so it checks shape strictly and precisely, and whatever the input it throws only a JobctlError
// (PROTOCOL or TOO_LARGE). Parameters stay `unknown` here; the method table validates them.
import { JobctlError, describeValue } from './errors.ts';
import type { EventName, EventParamsOf } from './events.ts';
import type { MethodName, ParamsOf } from './methods.ts';
import { MAX_FRAME_BYTES, MAX_JSON_DEPTH } from './protocol.ts';
import { isPlainObject, kindOf, utf8Length } from './validate.ts';
import { errorToWire, type WireError } from './wire-error.ts';

// codec.ts is the one import a transport needs: the binary log frames and wire errors live in their
// own files and are re-exported here.
export { LOG_FRAME_HEADER_BYTES, MAX_LOG_FRAME_DATA, decodeLogFrame, encodeLogFrame, type LogFrame } from './log-frame.ts';
export { errorFromWire, errorToWire, type WireError } from './wire-error.ts';

/** A call: id matches its response; params are validated later, per method. */
export interface RequestFrame {
  t: 'req';
  id: number;
  method: string;
  params: unknown;
}

/** A successful response. */
export interface ResultFrame {
  t: 'res';
  id: number;
  result: unknown;
}

/** A failed response. id 0 answers a request whose id could not be read. */
export interface ErrorFrame {
  t: 'res';
  id: number;
  error: WireError;
}

/** A response of either kind. */
export type ResponseFrame = ResultFrame | ErrorFrame;

/** A pushed event (daemon to client). */
export interface EventFrame {
  t: 'evt';
  event: string;
  params: unknown;
}

/** Any JSON frame. */
export type Frame = RequestFrame | ResponseFrame | EventFrame;

const MAX_NAME = 128;
const FIELDS = {
  req: ['t', 'id', 'method', 'params'],
  res: ['t', 'id', 'result', 'error'],
  evt: ['t', 'event', 'params'],
} as const;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** How decodeFrame reads a frame. */
export interface DecodeOptions {
  /**
   * The frame comes from a daemon this client authenticated (its certificate checked against the
   * identity's CA): the nesting pre-scan, a defence of the daemon against its clients, is skipped.
   * It walks every character in not-yet-optimised code: ≈ 0.9 ms of a `jobctl ps` of 50 jobs.
   */
  fromDaemon?: boolean;
}

/**
 * Decodes one text frame. Throws TOO_LARGE over MAX_FRAME_BYTES, else PROTOCOL with what is wrong
 * ("invalid JSON: … at position N", "missing field \"method\"", …). When a request's id was readable,
 * the error's details.id holds it, so the daemon can answer that request (see frameErrorId).
 */
export function decodeFrame(data: string | Uint8Array, options: DecodeOptions = {}): Frame {
  try {
    return decode(data, options.fromDaemon === true);
  } catch (err) {
    if (err instanceof JobctlError) throw err;
    // Unreachable by design (the fuzz test holds us to it); a bug here must still not escape as a crash.
    throw new JobctlError('PROTOCOL', 'malformed frame', { cause: err });
  }
}

function decode(data: string | Uint8Array, fromDaemon: boolean): Frame {
  let text: string;
  if (typeof data === 'string') {
    // Quick bound first: a UTF-16 unit is at most 3 UTF-8 bytes.
    if (data.length * 3 > MAX_FRAME_BYTES) {
      const bytes = utf8Length(data);
      if (bytes > MAX_FRAME_BYTES) throw tooLarge(bytes);
    }
    text = data;
  } else {
    if (data.byteLength > MAX_FRAME_BYTES) throw tooLarge(data.byteLength);
    try {
      text = decoder.decode(data);
    } catch {
      throw protocol('frame is not valid UTF-8 text');
    }
  }
  if (!fromDaemon) checkDepth(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw protocol(`invalid JSON: ${err instanceof Error ? err.message.slice(0, 200) : 'unparsable'}`);
  }
  if (!isPlainObject(parsed)) throw protocol(`a frame must be a JSON object, got ${kindOf(parsed)}`);
  const t = field(parsed, 't');
  if (t !== 'req' && t !== 'res' && t !== 'evt') {
    throw protocol(t === undefined ? 'missing field "t" (one of "req", "res", "evt")' : `field "t" must be "req", "res" or "evt", got ${describeValue(t)}`);
  }
  if (t === 'req') {
    // Read the id first: every later complaint can then be answered to that request.
    const id = requestId(parsed, false);
    try {
      checkFields(parsed, t);
      return { t, id, method: name(parsed, 'method'), params: paramsOf(parsed) };
    } catch (err) {
      if (err instanceof JobctlError) throw new JobctlError(err.code, err.message, { details: { id } });
      throw err;
    }
  }
  checkFields(parsed, t);
  if (t === 'evt') {
    return { t, event: name(parsed, 'event'), params: paramsOf(parsed) };
  }
  const hasResult = Object.hasOwn(parsed, 'result');
  const hasError = Object.hasOwn(parsed, 'error');
  if (hasResult === hasError) throw protocol('a "res" frame holds exactly one of "result" or "error"');
  const id = requestId(parsed, hasError);
  if (hasResult) return { t, id, result: parsed.result };
  return { t, id, error: wireError(parsed.error) };
}

// No frame of ours nests deeper than a few levels. Refusing deep input before parsing keeps a 1 MiB
// "[[[[…" from costing ~90 ms of JSON.parse, and spares every later walk over the value (logging,
// storing) from recursion-depth surprises. The scan skips string contents, escapes included.
function checkDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) throw protocol(`frame nests deeper than ${MAX_JSON_DEPTH} levels (at position ${i})`);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}

/** The request id an error from decodeFrame refers to, or 0 when none could be read. */
export function frameErrorId(err: unknown): number {
  const id = err instanceof JobctlError ? err.details?.id : undefined;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : 0;
}

/** Encodes a frame; throws TOO_LARGE when the text is over MAX_FRAME_BYTES, INTERNAL when not serializable. */
export function encodeFrame(frame: Frame): string {
  let text: string;
  try {
    text = JSON.stringify(frame);
  } catch (err) {
    throw new JobctlError('INTERNAL', `cannot encode a "${frame.t}" frame as JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const bytes = utf8Length(text);
  if (bytes > MAX_FRAME_BYTES) throw tooLarge(bytes);
  return text;
}

/** A request frame for method M, typed by the method table. */
export function requestFrame<M extends MethodName>(id: number, method: M, params: ParamsOf<M>): RequestFrame {
  return { t: 'req', id, method, params };
}

/** A result frame. */
export function resultFrame(id: number, result: unknown): ResultFrame {
  // JSON has no undefined: a handler that returns nothing answers null.
  return { t: 'res', id, result: result === undefined ? null : result };
}

/** An error frame for any thrown value (see errorToWire: no stacks, unknown errors become INTERNAL). */
export function errorFrame(id: number, err: unknown): ErrorFrame {
  return { t: 'res', id, error: errorToWire(err) };
}

/** An event frame for event E, typed by the event map. */
export function eventFrame<E extends EventName>(event: E, params: EventParamsOf<E>): EventFrame {
  return { t: 'evt', event, params };
}

function checkFields(obj: Record<string, unknown>, t: keyof typeof FIELDS): void {
  const allowed: readonly string[] = FIELDS[t];
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw protocol(`unknown field ${describeValue(key)} in a "${t}" frame (allowed: ${allowed.join(', ')})`);
  }
}

// Absent params mean {}; an explicit null or array is kept, for the method validator to refuse by name.
function paramsOf(obj: Record<string, unknown>): unknown {
  return Object.hasOwn(obj, 'params') ? obj.params : {};
}

function field(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function requestId(obj: Record<string, unknown>, zeroAllowed: boolean): number {
  const id = field(obj, 'id');
  if (id === undefined) throw protocol('missing field "id"');
  const ok = typeof id === 'number' && Number.isSafeInteger(id) && (id > 0 || (zeroAllowed && id === 0));
  if (!ok) throw protocol(`field "id" must be a positive integer${zeroAllowed ? ' (or 0)' : ''}, got ${describeValue(id)}`);
  return id;
}

function name(obj: Record<string, unknown>, key: 'method' | 'event'): string {
  const value = field(obj, key);
  if (value === undefined) throw protocol(`missing field "${key}"`);
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME) {
    throw protocol(`field "${key}" must be a name of 1-${MAX_NAME} characters, got ${describeValue(value)}`);
  }
  return value;
}

function wireError(value: unknown): WireError {
  if (!isPlainObject(value)) throw protocol(`field "error" must be an object, got ${kindOf(value)}`);
  const { code, message, details } = { code: field(value, 'code'), message: field(value, 'message'), details: field(value, 'details') };
  if (typeof code !== 'string' || code.length === 0 || code.length > MAX_NAME) throw protocol(`field "error.code" must be a code name, got ${describeValue(code)}`);
  if (typeof message !== 'string') throw protocol(`field "error.message" must be a string, got ${describeValue(message)}`);
  if (details !== undefined && !isPlainObject(details)) throw protocol(`field "error.details" must be an object, got ${kindOf(details)}`);
  return details === undefined ? { code, message } : { code, message, details };
}

function protocol(message: string): JobctlError {
  return new JobctlError('PROTOCOL', message);
}

function tooLarge(bytes: number): JobctlError {
  return new JobctlError('TOO_LARGE', `frame of ${bytes} bytes is over the ${MAX_FRAME_BYTES}-byte limit`, {
    details: { bytes, limit: MAX_FRAME_BYTES },
  });
}
