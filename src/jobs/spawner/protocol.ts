// The wire format between the daemon and jobctl-spawner (its C source describes it in full): requests
// are length-prefixed binary frames, events are six 32-bit integers. Pure encoding and decoding, no
// I/O, so it is unit-tested byte by byte.
import { constants as osConstants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

/** Request types (jobctl-spawner.c REQ_*). */
const REQ_SPAWN = 1;
const REQ_OPENED = 2;

/** Event types (jobctl-spawner.c EV_*). */
export const EV_SPAWNED = 1;
export const EV_STARTED = 2;
export const EV_FAILED = 3;
export const EV_EXITED = 4;

/** Bytes of one event. */
export const EVENT_BYTES = 24;

/** The largest request the spawner accepts (jobctl-spawner.c MAX_REQUEST). */
export const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

/** Where in the start a failure happened (jobctl-spawner.c STAGE_*). */
export const Stage = {
  pipe: 1,
  fork: 2,
  join: 3,
  cwd: 4,
  stdio: 5,
  exec: 6,
  request: 7,
} as const;

/** What to start: the command, where, with which environment, inside which cgroups. */
export interface SpawnRequest {
  argv: readonly string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
  /** cgroup.procs files the child writes its PID into, in order, before it execs the command. */
  procsFiles: readonly string[];
}

/** One event from the spawner. */
export interface SpawnerEvent {
  type: number;
  token: number;
  pid: number;
  a: number;
  b: number;
  c: number;
}

/** The SPAWN frame for request under token. */
export function encodeSpawn(token: number, request: SpawnRequest): Buffer {
  const strings = [request.cwd, ...request.procsFiles, ...request.argv, ...Object.entries(request.env).map(([k, v]) => `${k}=${v}`)];
  let textBytes = 0;
  for (const s of strings) textBytes += Buffer.byteLength(s) + 1;
  const size = 4 * 5 + textBytes;
  if (size > MAX_REQUEST_BYTES) throw new RangeError(`a start request of ${size} bytes is over the spawner's ${MAX_REQUEST_BYTES}-byte limit`);
  const frame = Buffer.allocUnsafe(4 + size);
  frame.writeUInt32LE(size, 0);
  // Host byte order on both ends; every Linux platform Node runs jobctl on is little-endian, and the
  // spawner is built for the same machine.
  frame.writeUInt32LE(REQ_SPAWN, 4);
  frame.writeUInt32LE(token, 8);
  frame.writeUInt32LE(request.procsFiles.length, 12);
  frame.writeUInt32LE(request.argv.length, 16);
  frame.writeUInt32LE(strings.length - 1 - request.procsFiles.length - request.argv.length, 20);
  let offset = 24;
  for (const s of strings) {
    offset += frame.write(s, offset);
    frame[offset++] = 0;
  }
  return frame;
}

/** The OPENED frame: the daemon holds its own read ends of token's pipes. */
export function encodeOpened(token: number): Buffer {
  const frame = Buffer.allocUnsafe(12);
  frame.writeUInt32LE(8, 0);
  frame.writeUInt32LE(REQ_OPENED, 4);
  frame.writeUInt32LE(token, 8);
  return frame;
}

/** Cuts a byte stream into events; keeps a partial event for the next chunk. */
export class EventReader {
  private rest: Buffer = Buffer.alloc(0);

  /** The whole events in rest + chunk, in order. */
  push(chunk: Buffer): SpawnerEvent[] {
    const data = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    const events: SpawnerEvent[] = [];
    let offset = 0;
    for (; offset + EVENT_BYTES <= data.length; offset += EVENT_BYTES) {
      events.push({
        type: data.readInt32LE(offset),
        token: data.readInt32LE(offset + 4),
        pid: data.readInt32LE(offset + 8),
        a: data.readInt32LE(offset + 12),
        b: data.readInt32LE(offset + 16),
        c: data.readInt32LE(offset + 20),
      });
    }
    this.rest = Buffer.from(data.subarray(offset));
    return events;
  }
}

/** How a process ended, from the raw wait status. */
export function decodeWaitStatus(status: number): { code: number | null; signal: NodeJS.Signals | null } {
  const termSignal = status & 0x7f;
  if (termSignal === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: null, signal: signalName(termSignal) };
}

function signalName(n: number): NodeJS.Signals {
  for (const [name, value] of Object.entries(osConstants.signals)) if (value === n) return name as NodeJS.Signals;
  return `SIG${n}` as NodeJS.Signals;
}

/** "ENOENT: no such file or directory" for an errno number. */
export function errnoText(errno: number): string {
  const entry = getSystemErrorMap().get(-errno);
  return entry ? `${entry[0]}: ${entry[1]}` : `errno ${errno}`;
}

/** The user-facing reason for a FAILED event, in the words the supervisor has always used. */
export function describeFailure(event: SpawnerEvent, request: Pick<SpawnRequest, 'argv' | 'cwd' | 'procsFiles'>): string {
  const reason = errnoText(event.b);
  switch (event.a) {
    case Stage.join:
      return `could not join cgroup ${request.procsFiles[event.c] ?? `#${event.c}`}: ${reason}`;
    case Stage.cwd:
      return `cwd ${JSON.stringify(request.cwd)}: ${reason}`;
    case Stage.exec:
      return `${JSON.stringify(request.argv[0])}: ${reason}`;
    case Stage.stdio:
      return `could not set up the job's stdin/stdout/stderr: ${reason}`;
    case Stage.pipe:
      return `could not create the job's pipes: ${reason}`;
    case Stage.fork:
      return `could not create the job's process: ${reason}`;
    default:
      return `the spawner refused the start request: ${reason}`;
  }
}
