// Small synchronous file helpers for cgroupfs (its files live in memory, so sync I/O costs 40–140 µs)
// plus the two async waits that cannot be sync: retrying rmdir and sleeping between polls.
// Every failure becomes a coded error that names the file, the value and the errno.

import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeSync, constants } from 'node:fs';
import { getSystemErrorMap } from 'node:util';
import { join } from 'node:path';
import { JobctlError } from '../rpc/errors.ts';
import type { LimitName } from '../rpc/model.ts';

/** One write of a value into a cgroup file; `limit` names the limit it enforces (for the error). */
export interface CgroupWrite {
  file: string;
  value: string;
  limit: LimitName | null;
}

/** The errno name of a Node fs error ("EINVAL"), or "unknown error". */
export function errnoOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unknown error';
}

/** "EINVAL (invalid argument)" — errno name plus the system's words for it. */
export function describeErrno(err: unknown): string {
  const errno = (err as { errno?: unknown } | null)?.errno;
  const text = typeof errno === 'number' ? getSystemErrorMap().get(errno)?.[1] : undefined;
  return text ? `${errnoOf(err)} (${text})` : errnoOf(err);
}

/** Reads a whole file; throws INTERNAL naming the file and the errno. */
export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new JobctlError('INTERNAL', `cannot read ${file}: ${describeErrno(err)}`, { cause: err, details: { file, errno: errnoOf(err) } });
  }
}

/** Reads a file that may not exist (a kernel without the feature): null on ENOENT. */
export function readOptional(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return null;
    throw new JobctlError('INTERNAL', `cannot read ${file}: ${describeErrno(err)}`, { cause: err, details: { file, errno: errnoOf(err) } });
  }
}

/** True when the file or directory exists (used to detect kernel features by their files). */
export function exists(path: string): boolean {
  return existsSync(path);
}

/**
 * Writes value with one write(2), without O_CREAT: a missing cgroup file means a missing kernel
 * feature and must fail (ENOENT) rather than create a plain file. O_TRUNC keeps fixture files exact.
 * A failed write of a limit is LIMIT_UNENFORCEABLE; anything else is INTERNAL.
 */
export function writeValue(file: string, value: string, limit: LimitName | null = null): void {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_TRUNC);
    const buf = Buffer.from(value);
    const n = writeSync(fd, buf, 0, buf.length);
    if (n !== buf.length) throw Object.assign(new Error(`short write (${n} of ${buf.length} bytes)`), { code: 'EIO' });
  } catch (err) {
    const what = limit ? `${limit} limit: ` : '';
    throw new JobctlError(limit ? 'LIMIT_UNENFORCEABLE' : 'INTERNAL', `${what}failed to write "${value}" to ${file}: ${describeErrno(err)}`, {
      cause: err,
      details: { limit, file, value, errno: errnoOf(err) },
    });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Applies writes in order; the first failure throws (see writeValue). */
export function applyWrites(writes: readonly CgroupWrite[]): void {
  for (const w of writes) writeValue(w.file, w.value, w.limit);
}

/** Parses flat keyed files ("usage_usec 123\n…", memory.events, memory.oom_control). */
export function parseKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^-?\d+$/.test(value)) out.set(key, Number(value));
  }
  return out;
}

/** Parses a single-number file ("12345\n"); "max" reads as Infinity. */
export function parseNumber(text: string, file: string): number {
  const t = text.trim();
  if (t === 'max') return Infinity;
  if (!/^-?\d+$/.test(t)) throw new JobctlError('INTERNAL', `unexpected content ${JSON.stringify(t.slice(0, 40))} in ${file}: expected a number`, { details: { file } });
  return Number(t);
}

/** Reads a single-number file. */
export function readNumber(file: string): number {
  return parseNumber(readText(file), file);
}

/** Parses cgroup.procs: one PID a line. */
export function parsePids(text: string): number[] {
  return text.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
}

/** PIDs in dir's cgroup.procs and in every child cgroup below it (a job may create sub-cgroups). ENOENT reads as empty. */
export function readPidsRecursive(dir: string): number[] {
  const own = readOptional(join(dir, 'cgroup.procs'));
  if (own === null) return [];
  const pids = parsePids(own);
  for (const child of subdirs(dir)) pids.push(...readPidsRecursive(join(dir, child)));
  return pids;
}

/** Names of the subdirectories of dir (its child cgroups); [] when dir is gone. */
export function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return [];
    throw new JobctlError('INTERNAL', `cannot list ${dir}: ${describeErrno(err)}`, { cause: err, details: { file: dir, errno: errnoOf(err) } });
  }
}

/** Creates a cgroup directory; returns false when it already existed. Throws INTERNAL with the errno. */
export function mkdirCgroup(dir: string): boolean {
  try {
    mkdirSync(dir);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'EEXIST') return false;
    throw new JobctlError('INTERNAL', `cannot create cgroup ${dir}: ${describeErrno(err)}`, { cause: err, details: { file: dir, errno: errnoOf(err) } });
  }
}

/** Resolves after ms; used only between polls of kernel state, never as a wait for an outcome. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** rmdir once, children first; returns the errno that stopped it, or null when gone (ENOENT counts as gone). */
export function tryRemoveTree(dir: string): string | null {
  // A job's cgroup almost never has children: try rmdir alone first, and list the directory only
  // when the kernel says it is not empty (ENOTEMPTY/EBUSY). This is on every job's end.
  const first = tryRmdir(dir);
  if (first === null || (first !== 'ENOTEMPTY' && first !== 'EBUSY')) return first;
  const children = subdirs(dir);
  if (children.length === 0) return first;
  for (const child of children) {
    const e = tryRemoveTree(join(dir, child));
    if (e) return e;
  }
  return tryRmdir(dir);
}

/** rmdir; null when the directory is gone (or was never there), else the errno code. */
function tryRmdir(dir: string): string | null {
  try {
    rmdirSync(dir);
    return null;
  } catch (err) {
    const code = errnoOf(err);
    return code === 'ENOENT' ? null : code;
  }
}

/**
 * Removes a cgroup directory and its child cgroups. The kernel answers EBUSY for a moment after the
 * last task exits (css offlining is asynchronous), so EBUSY is retried until timeoutMs.
 */
export async function removeCgroupTree(dir: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    const code = tryRemoveTree(dir);
    if (code === null) return;
    if (code !== 'EBUSY' || Date.now() >= deadline) {
      const pids = code === 'EBUSY' ? readPidsRecursive(dir) : [];
      const still = pids.length > 0 ? ` (processes still in it: ${pids.slice(0, 20).join(', ')})` : '';
      throw new JobctlError('INTERNAL', `cannot remove cgroup ${dir}: ${code}${still}`, { details: { file: dir, errno: code, pids } });
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
}
