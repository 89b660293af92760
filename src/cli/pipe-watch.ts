// Noticing that the reader of our stdout/stderr pipe went away while we have nothing to write.
//
// A closed pipe is normally seen at the next write (EPIPE). `jobctl logs -f ID | grep -m1 x` must
// end when grep does, even if the job then stays silent for hours. Linux reports the write end of a
// pipe whose last reader closed as EPOLLERR, but Node offers no poll on a file descriptor: libuv
// watches a write-only pipe only while a write is pending, and refuses to read-watch it (ENOTCONN).
// The one public road to libuv's uv_poll is WASI: its poll_oneoff with an fd_write subscription runs
// uv_poll_start on the host descriptor in a private loop, and reports EPOLLERR as the event's error
// (EIO) — a check that writes nothing. It is asked a few times a second, and only while nothing is
// queued on the stream (a pending write has libuv watching the descriptor already, and EPIPE comes).
//
// Only FIFOs are watched: a regular file has no reader, a terminal hang-up is SIGHUP's business, and
// on a socket the peer's half-close (shutdown of its sending side, which any reader may do) looks
// the same to poll as going away. Anything unexpected (no WASI, a stdio descriptor that is closed,
// another errno) turns the watch off: the next write still notices, as before.
import { fstatSync } from 'node:fs';

/** How often the descriptors are checked while idle: the worst-case delay of noticing. */
const CHECK_INTERVAL_MS = 100;

// WASI preview1 constants and layouts (wasi_snapshot_preview1 `subscription` is 48 bytes, `event` 32).
const EVENTTYPE_CLOCK = 0;
const EVENTTYPE_FD_WRITE = 2;
const CLOCK_MONOTONIC = 1;
const SUBSCRIPTION_BYTES = 48;
const EVENT_BYTES = 32;
const ERRNO_SUCCESS = 0;
const EVENT_FLAG_HANGUP = 1;

/**
 * A WebAssembly module that only exports one page of memory: WASI's functions need an instance's
 * memory to read their arguments from, and poll_oneoff is then called straight from JavaScript.
 */
const MEMORY_ONLY_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
  0x05, 0x03, 0x01, 0x00, 0x01, // memory section: one memory, at least 1 page
  0x07, 0x0a, 0x01, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, // export "memory" = memory 0
]);

type PollOneoff = (inPtr: number, outPtr: number, count: number, countOutPtr: number) => number;

// The little of the WebAssembly global used here (tsconfig loads no DOM/WebAssembly typings).
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasmApi = (): WasmApi => (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A probe: true when a watched descriptor's reader is gone, false when it is not (or unknown). */
type Probe = () => boolean;

/** The stdio descriptors among fds that are FIFOs (pipes). */
function pipeDescriptors(fds: number[]): number[] {
  return fds.filter((fd) => {
    try {
      return fstatSync(fd).isFIFO();
    } catch {
      return false;
    }
  });
}

/** node:wasi without its one-time "experimental" warning on stderr (our stderr carries job output). */
function loadWasi(): typeof import('node:wasi') {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === 'ExperimentalWarning' && String(warning).includes('WASI')) return;
    return (emitWarning as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return require('node:wasi') as typeof import('node:wasi');
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** A probe of fds (stdio numbers 1 and 2 only), or null when this Node cannot poll them. */
function createProbe(fds: number[]): Probe | null {
  let poll: PollOneoff;
  let memory: { buffer: ArrayBuffer };
  try {
    const { WASI } = loadWasi();
    // WASI's descriptors 0–2 are these same numbers of ours; nothing else is reachable through it.
    const wasi = new WASI({ version: 'preview1', args: [], env: {}, returnOnExit: true });
    const wasm = wasmApi();
    const instance = new wasm.Instance(new wasm.Module(MEMORY_ONLY_MODULE), {});
    wasi.initialize(instance);
    memory = instance.exports.memory as { buffer: ArrayBuffer };
    poll = (wasi.wasiImport as Record<string, PollOneoff>).poll_oneoff as PollOneoff;
    if (typeof poll !== 'function') return null;
  } catch {
    return null;
  }
  const subs = 0;
  const events = SUBSCRIPTION_BYTES * (fds.length + 1);
  const countOut = events + EVENT_BYTES * (fds.length + 1);
  return () => {
    const view = new DataView(memory.buffer);
    new Uint8Array(memory.buffer, 0, countOut + 4).fill(0);
    fds.forEach((fd, i) => {
      const at = subs + i * SUBSCRIPTION_BYTES;
      view.setBigUint64(at, BigInt(fd), true); // userdata: which descriptor
      view.setUint8(at + 8, EVENTTYPE_FD_WRITE);
      view.setUint32(at + 16, fd, true);
    });
    // A 1 ms timeout, so a full pipe (a slow reader) never blocks the event loop longer. Not 0: the
    // private loop would run that timer before polling at all, and every answer would be "no news".
    const clock = subs + fds.length * SUBSCRIPTION_BYTES;
    view.setBigUint64(clock, 0xffffn, true);
    view.setUint8(clock + 8, EVENTTYPE_CLOCK);
    view.setUint32(clock + 16, CLOCK_MONOTONIC, true);
    view.setBigUint64(clock + 24, 1_000_000n, true);
    const errno = poll(subs, events, fds.length + 1, countOut);
    if (errno !== ERRNO_SUCCESS) throw new Error(`poll_oneoff: WASI errno ${errno}`);
    const count = view.getUint32(countOut, true);
    for (let i = 0; i < count; i++) {
      const at = events + i * EVENT_BYTES;
      if (view.getUint8(at + 10) !== EVENTTYPE_FD_WRITE) continue;
      // EPOLLERR arrives as an error (EIO); a hang-up flag means the same for a pipe's write end.
      if (view.getUint16(at + 8, true) !== ERRNO_SUCCESS || (view.getUint16(at + 24, true) & EVENT_FLAG_HANGUP) !== 0) return true;
    }
    return false;
  };
}

/**
 * Calls onClosed once when the reader of stdout or stderr (those that are pipes) goes away, even if
 * nothing is written meanwhile. Returns the function that stops watching. Does nothing for files,
 * terminals and sockets, or where the check is not available.
 */
export function watchOutputPipes(onClosed: () => void): () => void {
  const fds = pipeDescriptors([1, 2]);
  if (fds.length === 0) return () => undefined;
  const probe = createProbe(fds);
  if (!probe) return () => undefined;
  const timer = setInterval(() => {
    // A queued write already has libuv watching the descriptor: its EPIPE comes without our help.
    if (process.stdout.writableLength > 0 || process.stderr.writableLength > 0) return;
    let closed: boolean;
    try {
      closed = probe();
    } catch {
      clearInterval(timer);
      return;
    }
    if (closed) {
      clearInterval(timer);
      onClosed();
    }
  }, CHECK_INTERVAL_MS);
  // Watching must never be what keeps the process alive.
  timer.unref();
  return () => clearInterval(timer);
}
