// cgroup v2 delegation: enabling the limit controllers for the job cgroups.
//
// Kernel rules this follows (verified on Debian's 6.1 in the VM, see scripts/vm):
// - No internal processes: a non-root cgroup that holds processes cannot enable *domain* controllers
//   (memory, io) for its children: EBUSY. The root cgroup (the only one without a cgroup.type file)
//   is exempt.
// - But *threaded* controllers (cpu, pids, cpuset, perf_event) ARE accepted there, and that silently
//   turns the cgroup into a thread root (cgroup.type "domain threaded"): its child cgroups become
//   "domain invalid" — no process can be moved into them (EOPNOTSUPP), not even the daemon itself,
//   and no controller can be enabled in them. Writing "+cpu" into a populated <own> therefore breaks
//   every job. So nothing is ever written to <own>/cgroup.subtree_control while <own> holds a process:
//   the daemon first moves itself into a leaf, <own>/<instance>/supervisor (only possible when it is
//   alone there), and only then enables controllers. With company nothing is written, and the
//   affected limits are reported not enforceable, with the reason and a fix; nothing crashes.

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
      reason: `cannot enable the cgroup v2 ${c} controller in ${file}: EBUSY — other processes${who} share the daemon's cgroup ${ownPath}, and a non-root v2 cgroup with processes cannot hand controllers to its children (cpu and pids would be accepted, but would make it a thread root whose child cgroups take no process)`,
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

/** Controllers the kernel treats as threaded: accepted in a populated cgroup, which becomes a thread root. */
const THREADED_CONTROLLERS: ReadonlySet<string> = new Set(['cpu', 'cpuset', 'perf_event', 'pids']);

/**
 * Enables each wanted controller in <own>/cgroup.subtree_control and <instance>/cgroup.subtree_control.
 * When <own> is not the root and holds the daemon, the daemon first moves itself into
 * <instance>/supervisor (see the file comment for why it must happen before any write). Never throws
 * for kernel refusals: they come back in `failed`.
 */
export function delegateV2(req: DelegationRequest, ops: DelegateOps = kernelOps): DelegationResult {
  const failed = new Map<LimitController, DelegationFailure>();
  const ownSub = join(req.ownDir, 'cgroup.subtree_control');
  const instSub = join(req.instanceDir, 'cgroup.subtree_control');
  const before = new Set(readList(ops, ownSub));
  let supervisorDir: string | null = null;

  // The root cgroup has no cgroup.type (inside a cgroup namespace "/" is not the root and has one).
  const isRoot = readOr(ops, join(req.ownDir, 'cgroup.type')).trim() === '';
  const procs = parsePidList(readOr(ops, join(req.ownDir, 'cgroup.procs')));
  const others = procs.filter((p) => p !== req.pid);
  const failAll = (f: (c: LimitController) => DelegationFailure): void => {
    for (const c of req.wanted) if (!failed.has(c)) failed.set(c, f(c));
  };

  if (!isRoot && others.length > 0) {
    // Moving would change nothing (the others stay), and any write could make <own> a thread root.
    failAll((c) => explain(c, ownSub, req.ownPath, 'EBUSY', others));
  } else if (!isRoot && procs.length > 0) {
    const step = (what: string, fn: () => void): boolean => {
      try {
        fn();
        return true;
      } catch (err) {
        const errno = errnoFrom(err);
        const denied = errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS' ? `cgroup ${req.ownPath} not delegated to the daemon: ` : '';
        const reason = `${denied}cannot move the daemon (pid ${req.pid}) into its own leaf cgroup: ${what} failed with ${errno}`;
        failAll(() => ({ reason, fix: DELEGATE_FIX }));
        return false;
      }
    };
    // Threaded controllers already enabled in <own> (an earlier daemon, or another tool, wrote them
    // while inside) make it a thread root whose children cannot take the daemon: turn them off first.
    const threadedLeft = [...before].filter((c) => THREADED_CONTROLLERS.has(c));
    const cleared = step(`turning off ${threadedLeft.map((c) => `"${c}"`).join(', ')} in ${ownSub} (it made ${req.ownPath} a thread root)`, () => {
      for (const c of threadedLeft) {
        ops.write(ownSub, `-${c}`);
        before.delete(c);
      }
    });
    const dir = join(req.instanceDir, SUPERVISOR_DIR);
    if (cleared && step(`writing ${join(dir, 'cgroup.procs')}`, () => {
      ops.mkdir(dir);
      ops.write(join(dir, 'cgroup.procs'), String(req.pid));
    })) {
      supervisorDir = dir;
    }
  }

  for (const c of req.wanted) {
    if (failed.has(c) || before.has(c)) continue;
    try {
      ops.write(ownSub, `+${c}`);
    } catch (err) {
      failed.set(c, explain(c, ownSub, req.ownPath, errnoFrom(err), others));
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
