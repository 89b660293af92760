// Binary WebSocket frames carrying log data, daemon to client: a fixed 24-byte header, then the raw
// bytes as the job wrote them (no base64, no copy on decode).
//
//   offset size  field
//   0      1     magic 0x4A ("J")
//   1      1     version (1)
//   2      1     stream: 1 stdout, 2 stderr (the file descriptor numbers)
//   3      1     flags, reserved: 0
//   4      4     subscription (u32, big-endian)
//   8      8     seq: the chunk's place in the job's one order across both streams (u64 BE, ≤ 2^53-1)
//   16     8     time: when the daemon read the chunk, ms since the epoch (u64 BE, ≤ 2^53-1)
//   24     …     data
import { JobctlError } from './errors.ts';
import type { StreamId } from './model.ts';
import { MAX_FRAME_BYTES } from './protocol.ts';

/** First byte of every log frame. */
export const LOG_FRAME_MAGIC = 0x4a;
/** Layout version of the header. */
export const LOG_FRAME_VERSION = 1;
/** Header size in bytes. */
export const LOG_FRAME_HEADER_BYTES = 24;
/** Most data one frame may carry (the frame as a whole stays within MAX_FRAME_BYTES). */
export const MAX_LOG_FRAME_DATA = MAX_FRAME_BYTES - LOG_FRAME_HEADER_BYTES;

/** One chunk of a job's output, addressed to a log subscription. */
export interface LogFrame {
  subscription: number;
  stream: StreamId;
  seq: number;
  timeMs: number;
  /** On decode, a view into the received buffer (valid as long as that buffer is). */
  data: Uint8Array;
}

const TWO_32 = 0x1_0000_0000;

/** Encodes a log frame; throws INVALID_ARGUMENT (a caller bug) for out-of-range fields or too much data. */
export function encodeLogFrame(frame: LogFrame): Uint8Array {
  checkU32('subscription', frame.subscription);
  checkU53('seq', frame.seq);
  checkU53('timeMs', frame.timeMs);
  if (frame.stream !== 1 && frame.stream !== 2) throw new JobctlError('INVALID_ARGUMENT', `log frame stream must be 1 or 2, got ${String(frame.stream)}`);
  if (frame.data.byteLength > MAX_LOG_FRAME_DATA) {
    throw new JobctlError('INVALID_ARGUMENT', `log frame data of ${frame.data.byteLength} bytes is over ${MAX_LOG_FRAME_DATA}; split the chunk`);
  }
  const out = new Uint8Array(LOG_FRAME_HEADER_BYTES + frame.data.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, LOG_FRAME_MAGIC);
  view.setUint8(1, LOG_FRAME_VERSION);
  view.setUint8(2, frame.stream);
  view.setUint8(3, 0);
  view.setUint32(4, frame.subscription);
  setU53(view, 8, frame.seq);
  setU53(view, 16, frame.timeMs);
  out.set(frame.data, LOG_FRAME_HEADER_BYTES);
  return out;
}

/** Decodes a log frame; throws PROTOCOL naming what is wrong. */
export function decodeLogFrame(bytes: Uint8Array): LogFrame {
  if (bytes.byteLength < LOG_FRAME_HEADER_BYTES) {
    throw protocol(`log frame of ${bytes.byteLength} bytes is shorter than its ${LOG_FRAME_HEADER_BYTES}-byte header`);
  }
  if (bytes.byteLength > MAX_FRAME_BYTES) throw new JobctlError('TOO_LARGE', `log frame of ${bytes.byteLength} bytes is over the ${MAX_FRAME_BYTES}-byte limit`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint8(0);
  if (magic !== LOG_FRAME_MAGIC) throw protocol(`log frame starts with byte 0x${hex(magic)}, expected 0x${hex(LOG_FRAME_MAGIC)}`);
  const version = view.getUint8(1);
  if (version !== LOG_FRAME_VERSION) throw protocol(`log frame version ${version} is not served (this end reads version ${LOG_FRAME_VERSION})`);
  const stream = view.getUint8(2);
  if (stream !== 1 && stream !== 2) throw protocol(`log frame stream must be 1 (stdout) or 2 (stderr), got ${stream}`);
  const flags = view.getUint8(3);
  if (flags !== 0) throw protocol(`log frame flags must be 0 in version 1, got 0x${hex(flags)}`);
  return {
    subscription: view.getUint32(4),
    stream,
    seq: getU53(view, 8, 'seq'),
    timeMs: getU53(view, 16, 'time'),
    data: bytes.subarray(LOG_FRAME_HEADER_BYTES),
  };
}

// u64 fields are written as two u32 halves so plain numbers (not BigInt) carry them; values stay
// within Number.MAX_SAFE_INTEGER, which a sequence or a timestamp in ms never leaves.
function setU53(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / TWO_32));
  view.setUint32(offset + 4, value % TWO_32);
}

function getU53(view: DataView, offset: number, what: string): number {
  const value = view.getUint32(offset) * TWO_32 + view.getUint32(offset + 4);
  if (!Number.isSafeInteger(value)) throw protocol(`log frame ${what} is over 2^53-1`);
  return value;
}

function checkU32(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new JobctlError('INVALID_ARGUMENT', `log frame ${what} must be an integer from 0 to ${0xffff_ffff}, got ${String(value)}`);
  }
}

function checkU53(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new JobctlError('INVALID_ARGUMENT', `log frame ${what} must be an integer from 0 to 2^53-1, got ${String(value)}`);
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

function protocol(message: string): JobctlError {
  return new JobctlError('PROTOCOL', message);
}
