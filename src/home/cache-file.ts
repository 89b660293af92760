// Files the single executable carries inside itself but must hand to the kernel as real files (the
// SQLite addon for dlopen, jobctl-spawner for execve) are written once, atomically, to a private cache
// directory under a name holding their hash, and used from there.
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Writes bytes as `name` (mode 0700) to the first usable cache directory, unless a file of that size is
 * already there, and returns what use(file) returns. A directory where writing or use fails (a
 * noexec mount: dlopen "failed to map segment", execve EACCES) is skipped for the next one; when none
 * works, throws an Error listing each directory and why.
 */
export function useCachedFile<T>(name: string, bytes: Uint8Array, use: (file: string) => T, env: NodeJS.ProcessEnv = process.env): T {
  const failures: string[] = [];
  for (const dir of cacheDirs(env)) {
    const file = join(dir, name);
    try {
      ensurePrivateDir(dir);
      if (existingSize(file) !== bytes.byteLength) writeAtomically(file, bytes);
      return use(file);
    } catch (err) {
      failures.push(`${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  throw new Error(`tried ${failures.join('; ')}`);
}

/**
 * Where such files may be cached, best first: systemd's CacheDirectory=, the XDG cache, then a private
 * directory under the temp dir (last: /tmp is often mounted noexec).
 */
function cacheDirs(env: NodeJS.ProcessEnv): string[] {
  const dirs: string[] = [];
  const systemd = env.CACHE_DIRECTORY?.split(':')[0];
  if (systemd) dirs.push(systemd);
  if (env.XDG_CACHE_HOME) dirs.push(join(env.XDG_CACHE_HOME, 'jobctl'));
  try {
    const home = env.HOME || homedir();
    if (home) dirs.push(join(home, '.cache', 'jobctl'));
  } catch {
    // no home directory (a passwd-less container user): the temp dir remains
  }
  dirs.push(join(tmpdir(), `jobctl-${process.getuid?.() ?? 'user'}`));
  return dirs;
}

function existingSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return -1;
  }
}

// A shared directory (the temp dir) must be ours alone, or another user could plant a file there.
function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
    throw new Error('not a directory writable by this user alone');
  }
}

function writeAtomically(file: string, bytes: Uint8Array): void {
  const temp = `${file}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', 0o700);
  let written = false;
  try {
    for (let offset = 0; offset < bytes.byteLength; ) offset += writeSync(fd, bytes, offset);
    fsyncSync(fd);
    written = true;
  } finally {
    closeSync(fd);
    if (!written) rmSync(temp, { force: true });
  }
  renameSync(temp, file);
}
