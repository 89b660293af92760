// The directory `certs issue --out DIR` writes a new identity into, made ready BEFORE the daemon is
// asked: a certificate the daemon issues is recorded (and audited) at once, so a directory that
// turns out unusable afterwards leaves a certificate whose key went nowhere.
import { closeSync, chmodSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { invalidArgument } from '../rpc/errors.ts';

/** Mode of a directory this creates: it will hold a private key. */
const PRIVATE_DIR_MODE = 0o700;

/** "ENOENT" / "EACCES: permission denied", short enough for a one-line message. */
function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message ?? String(err);
}

/**
 * Makes typed (relative to the current directory) an existing, writable directory: missing
 * components are created one at a time with mode 0700 — not with mkdir's recursive mode, which in
 * places like /proc loops forever — and a file is created and removed in it to prove it takes one.
 * Returns the absolute path; a refusal (exit 2) names flag, the text typed and the reason.
 */
export function prepareOutputDir(typed: string, flag = '--out'): string {
  const dir = resolve(typed);
  const accepted = (why: string) => invalidArgument(flag, typed, `a directory that exists or can be created, and can be written to (${why})`);
  const missing: string[] = [];
  for (let path = dir; ; path = dirname(path)) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (err) {
      // ENOTDIR: a component above is a file; walking up finds it and says so.
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || path === dirname(path)) throw accepted(`${path}: ${reason(err)}`);
      missing.unshift(path);
      continue;
    }
    if (!isDir) throw accepted(`${path} is not a directory`);
    break;
  }
  for (const path of missing) {
    try {
      mkdirSync(path, { mode: PRIVATE_DIR_MODE });
      // mkdir's mode is filtered by the umask.
      chmodSync(path, PRIVATE_DIR_MODE);
    } catch (err) {
      throw accepted(`cannot create ${path}: ${reason(err)}`);
    }
  }
  // Permission bits do not tell (read-only mounts, root, ACLs, /proc): create a file and remove it.
  const probe = resolve(dir, `.jobctl-write-check-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx', 0o600));
    unlinkSync(probe);
  } catch (err) {
    throw accepted(`cannot create a file in it: ${reason(err)}`);
  }
  return dir;
}
