// Writing to stdout/stderr the way pipes need it: honour backpressure, and treat a closed pipe
// (`| head`) as the reader having had enough — end quietly with status 0.
import { watchOutputPipes } from './pipe-watch.ts';

/** Thrown when stdout or stderr was closed by the reader. */
export class PipeClosed extends Error {
  constructor() {
    super('output pipe closed');
    this.name = 'PipeClosed';
  }
}

let pipeClosed: (() => void) | null = null;
const closedPromise = new Promise<void>((resolve) => (pipeClosed = resolve));

for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') pipeClosed?.();
  });
}

let watching = false;

/**
 * Resolves when a reader closed stdout or stderr: at the next write, or — for pipes — within a
 * fraction of a second even when nothing is written (see pipe-watch.ts). The watch starts with the
 * first call, so only commands that wait on it (following output) pay for it.
 */
export function whenPipeClosed(): Promise<void> {
  if (!watching) {
    watching = true;
    watchOutputPipes(() => pipeClosed?.());
  }
  return closedPromise;
}

/** Writes data; returns a promise only when the stream asks the writer to wait (drain). */
export function write(stream: NodeJS.WriteStream, data: string | Uint8Array): void | Promise<void> {
  if (stream.destroyed) throw new PipeClosed();
  if (stream.write(data)) return;
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

/** Writes a line to stdout (no backpressure concerns for short command output). */
export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Writes a diagnostic to stderr. */
export function note(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}
