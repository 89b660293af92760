// File handling for key material: private directories, atomic writes, reads with coded errors.
// A crash mid-write must never leave a truncated key where the daemon will load it, so every file is
// written to a temporary name in the same directory, fsynced, then renamed over the target.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { JobctlError } from '../rpc/errors.ts';

/** Mode of private keys. */
export const KEY_MODE = 0o600;
/** Mode of certificates (public). */
export const CERT_MODE = 0o644;
/** Mode of directories holding keys. */
export const PRIVATE_DIR_MODE = 0o700;

/** Creates dir (and parents) if missing; with tighten, also forces mode 0700 on an existing dir. */
export function ensurePrivateDir(dir: string, opts: { tighten: boolean }): void {
  try {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    // mkdir's mode is filtered by the umask, and an existing directory keeps its mode.
    if (opts.tighten) chmodSync(dir, PRIVATE_DIR_MODE);
  } catch (err) {
    throw ioError(`cannot create directory ${dir}`, err);
  }
}

/** Writes data to path atomically with exactly this mode (temp file + fsync + rename + dir fsync). */
export function writeFileAtomic(path: string, data: string, mode: number): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', mode);
    try {
      writeSync(fd, data);
      // openSync's mode is filtered by the umask; keys must be exactly 0600 whatever it is.
      chmodSync(tmp, mode);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    syncDir(dirname(path));
  } catch (err) {
    rmSync(tmp, { force: true });
    throw ioError(`cannot write ${path}`, err);
  }
}

/** The file's text, or null when it does not exist; other failures are coded errors naming the path. */
export function readTextIfExists(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw ioError(`cannot read ${path}`, err);
  }
}

/** An INTERNAL error ("an unexpected OS error") naming the operation, the path and the errno text. */
export function ioError(what: string, err: unknown): JobctlError {
  const reason = err instanceof Error ? err.message : String(err);
  const hint = ['EACCES', 'EPERM'].includes(String((err as NodeJS.ErrnoException).code)) ? ' (run as the user that owns it, or fix its permissions)' : '';
  return new JobctlError('INTERNAL', `${what}: ${reason}${hint}`, { cause: err });
}

// Makes the rename itself durable: without it a power loss can forget the new directory entry.
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the data itself is already synced.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
