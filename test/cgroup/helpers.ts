// Shared by the cgroup tests: temp trees, polling with a deadline, placing a real process into a
// job the way the supervisor's trampoline does, and liveness checks.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { detectLayout } from '../../src/cgroup/layout.ts';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SLOWDOWN } from '../support/poll.ts';

/** A fresh temp directory, removed by the returned cleanup. */
export function tempDir(prefix = 'jobctl-cgroup-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes files (path relative to root → content), creating directories; a value of null makes a directory. */
export function writeTree(root: string, files: Record<string, string | null>): void {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(root, rel);
    if (content === null) mkdirSync(path, { recursive: true });
    else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
    }
  }
}

/** Reads a file of a tree. */
export function readTree(root: string, rel: string): string {
  return readFileSync(join(root, rel), 'utf8');
}

/** Polls cond until it is true; throws naming `what` after timeoutMs (stretched by SLOWDOWN in the emulated VM). */
export async function pollUntil(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  timeoutMs *= SLOWDOWN;
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 50);
  }
}

/** A unique instance name for one test run (other engineers' tests may share this machine). */
export function testInstance(tag: string): string {
  return `jobctl-test-${tag}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * Starts `script` (a /bin/sh script) inside the job the way the trampoline does: the shell writes its
 * own PID into every procs file, exits 111 if a write fails, then execs the script (same PID).
 */
export function spawnInJob(procsFiles: readonly string[], script: string): ChildProcess {
  const trampoline = 'for f do echo $$ > "$f" || exit 111; done; exec /bin/sh -c "$0"';
  const child = spawn('/bin/sh', ['-c', trampoline, script, ...procsFiles], { stdio: 'ignore' });
  child.on('error', () => undefined);
  return child;
}

/** True when pid is a live (non-zombie) process. PID 1 here reaps orphans only now and then, so zombies linger. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Kills pids that are still alive (test cleanup: only PIDs this test started or saw in its own job). */
export function killPids(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Resolves with the exit of a child (code or signal). */
export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Every cgroup.procs PID in dir and below ([] when dir is gone). */
function pidsUnder(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const out: number[] = [];
  const walk = (d: string): void => {
    try {
      out.push(...readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    } catch {
      // vanished meanwhile
    }
  };
  walk(dir);
  return out;
}

/** rmdir depth-first; true when dir is gone. */
function rmdirTree(dir: string): boolean {
  if (!existsSync(dir)) return true;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmdirTree(join(dir, e.name));
    rmdirSync(dir);
    return true;
  } catch {
    return !existsSync(dir);
  }
}

/**
 * Test cleanup that does not trust the code under test: SIGKILLs whatever is in the test's own
 * cgroup dirs (processes the test placed there) and rmdirs them, retrying for up to 5 s.
 */
export async function forceRemoveCgroups(dirs: Iterable<string>): Promise<void> {
  const deadline = Date.now() + 5000;
  for (const dir of dirs) {
    while (!rmdirTree(dir) && Date.now() < deadline) {
      killPids(pidsUnder(dir).filter((p) => p !== process.pid));
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/**
 * <own>/<instance> in every hierarchy this process sees (where a host for `instance` makes its subtree).
 * On v2 a host may have moved this process into <own>/<some instance>/supervisor: <own> is two levels up.
 */
export function instanceDirsOnHost(instance: string): string[] {
  const layout = detectLayout(readFileSync('/proc/self/mountinfo', 'utf8'), readFileSync('/proc/self/cgroup', 'utf8'));
  return layout.hierarchies.map((h) => join(h.version === 2 && h.ownDir.endsWith('/supervisor') ? dirname(dirname(h.ownDir)) : h.ownDir, instance));
}
