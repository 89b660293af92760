// cgroup v2 delegation: enabling the limit controllers for the job cgroups.
//
// v2's no-internal-processes rule: a non-root cgroup that holds processes cannot enable controllers
// for its children (EBUSY). The daemon usually sits in its own cgroup (a systemd service), so when
// enabling fails with EBUSY it moves itself into a leaf, <own>/<instance>/supervisor, and retries. If
// other processes share the cgroup, or it is not delegated (EACCES/EPERM), the affected limits are
// reported not enforceable, with the reason and a fix; nothing crashes.

import { join } from 'node:path';
import { errnoOf, mkdirCgroup, readText, writeValue } from './files.ts';
import type { LimitController } from './layout.ts';

/** Name of the leaf the daemon moves itself into; never a job key. */
export const SUPERVISOR_DIR = 'supervisor';

/** File operations delegation needs; tests substitute a model of the kernel's rules. */
export interface DelegateOps {
  /** Writes value to file; throws an error carrying the errno (code or details.errno). */
  write(file: string, value: string): void;
  /** Creates dir; EEXIST is not an error. */
  mkdir(dir: string): void;
  read(file: string): string;
}

/** The real kernel. */
export const kernelOps: DelegateOps = {
  write: (file, value) => writeValue(file, value),
  mkdir: (dir) => void mkdirCgroup(dir),
  read: (file) => readText(file),
};

/** Why one controller could not be enabled, and how to fix it. */
export interface DelegationFailure {
  reason: string;
  fix: string;
}

/** What delegateV2 achieved. */
export interface DelegationResult {
  /** Controllers enabled in <instance>/cgroup.subtree_control (usable by job cgroups). */
  enabled: LimitController[];
  failed: Map<LimitController, DelegationFailure>;
  /** The leaf the daemon moved itself into, or null if it stayed. */
  supervisorDir: string | null;
  /** Controllers this call newly enabled in <own>/cgroup.subtree_control (dispose may turn them off). */
  enabledAtOwn: LimitController[];
}

/** Input of delegateV2. */
export interface DelegationRequest {
  ownDir: string;
  /** For messages: the path as /proc/self/cgroup shows it. */
  ownPath: string;
  instanceDir: string;
  wanted: readonly LimitController[];
  /** The PID to move (the daemon's own). */
  pid: number;
}

const DELEGATE_FIX =
  'run the daemon under systemd with Delegate=yes (`jobctl service install`), or start it with `systemd-run --scope -p Delegate=yes jobctl daemon`';

/** The errno inside a raw fs error or a JobctlError from writeValue. */
function errnoFrom(err: unknown): string {
  const details = (err as { details?: { errno?: unknown } } | null)?.details;
  return typeof details?.errno === 'string' ? details.errno : errnoOf(err);
}

/** Explains a failed write of "+c" to a subtree_control file. */
function explain(c: LimitController, file: string, ownPath: string, errno: string, others: readonly number[] = []): DelegationFailure {
  if (errno === 'EBUSY') {
    const who = others.length > 0 ? ` (pids ${others.slice(0, 5).join(', ')}${others.length > 5 ? ', …' : ''})` : '';
    return {
      reason: `cannot enable the cgroup v2 ${c} controller in ${file}: EBUSY — other processes${who} share the daemon's cgroup ${ownPath}, and a v2 cgroup with processes cannot hand controllers to its children`,
      fix: `give the daemon a cgroup of its own: ${DELEGATE_FIX}`,
    };
  }
  if (errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS') {
    return {
      reason: `cgroup v2 ${c} controller not delegated to ${ownPath}: writing "+${c}" to ${file} failed with ${errno}`,
      fix: DELEGATE_FIX,
    };
  }
  return {
    reason: `cannot enable the cgroup v2 ${c} controller: writing "+${c}" to ${file} failed with ${errno}`,
    fix: `check that the kernel supports the ${c} controller on cgroup v2, or ${DELEGATE_FIX}`,
  };
}

/**
 * Enables each wanted controller in <own>/cgroup.subtree_control and <instance>/cgroup.subtree_control,
 * moving the daemon into <instance>/supervisor if <own> refuses with EBUSY. Never throws for kernel
 * refusals: they come back in `failed`.
 */
export function delegateV2(req: DelegationRequest, ops: DelegateOps = kernelOps): DelegationResult {
  const failed = new Map<LimitController, DelegationFailure>();
  const ownSub = join(req.ownDir, 'cgroup.subtree_control');
  const instSub = join(req.instanceDir, 'cgroup.subtree_control');
  const before = new Set(readList(ops, ownSub));
  let supervisorDir: string | null = null;
  let moveError: DelegationFailure | null = null;

  // Moving helps only when the daemon is alone in <own>; with company it would change nothing.
  const others = parsePidList(readOr(ops, join(req.ownDir, 'cgroup.procs'))).filter((p) => p !== req.pid);
  const moveSelf = (): boolean => {
    if (supervisorDir) return true;
    if (moveError) return false;
    const dir = join(req.instanceDir, SUPERVISOR_DIR);
    const procs = join(dir, 'cgroup.procs');
    try {
      ops.mkdir(dir);
      ops.write(procs, String(req.pid));
      supervisorDir = dir;
      return true;
    } catch (err) {
      moveError = {
        reason: `cannot move the daemon (pid ${req.pid}) into its own leaf cgroup: writing ${procs} failed with ${errnoFrom(err)}`,
        fix: DELEGATE_FIX,
      };
      return false;
    }
  };

  for (const c of req.wanted) {
    try {
      ops.write(ownSub, `+${c}`);
    } catch (err) {
      let errno = errnoFrom(err);
      if (errno === 'EBUSY' && others.length === 0) {
        if (!moveSelf()) {
          failed.set(c, moveError ?? explain(c, ownSub, req.ownPath, errno));
          continue;
        }
        try {
          ops.write(ownSub, `+${c}`);
          continue;
        } catch (err2) {
          errno = errnoFrom(err2);
        }
      }
      failed.set(c, explain(c, ownSub, req.ownPath, errno, others));
    }
  }

  for (const c of req.wanted) {
    if (failed.has(c)) continue;
    try {
      ops.write(instSub, `+${c}`);
    } catch (err) {
      failed.set(c, explain(c, instSub, req.ownPath, errnoFrom(err)));
    }
  }

  const now = new Set(readList(ops, instSub));
  const enabled = req.wanted.filter((c) => !failed.has(c) && now.has(c));
  for (const c of req.wanted) {
    if (!failed.has(c) && !now.has(c)) {
      failed.set(c, { reason: `the cgroup v2 ${c} controller is not listed in ${instSub} after enabling it`, fix: DELEGATE_FIX });
    }
  }
  const after = new Set(readList(ops, ownSub));
  const enabledAtOwn = req.wanted.filter((c) => after.has(c) && !before.has(c));
  return { enabled, failed, supervisorDir, enabledAtOwn };
}

/** Reads a file; a missing/unreadable one reads as empty. */
function readOr(ops: DelegateOps, file: string): string {
  try {
    return ops.read(file);
  } catch {
    return '';
  }
}

/** Reads a space-separated controller list. */
function readList(ops: DelegateOps, file: string): string[] {
  return readOr(ops, file).trim().split(/\s+/).filter((c) => c !== '');
}

/** PIDs of a cgroup.procs text. */
function parsePidList(text: string): number[] {
  return text.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
}
