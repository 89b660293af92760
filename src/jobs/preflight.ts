// Checks that a command can start before anything is spawned, so that "cannot start" is reported with
// the OS's own reason (ENOENT, EACCES, ENOTDIR) before a job row is made running; the spawner reports
// the same reasons from execvp for what changes in between.
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/** glibc execvp's search path when the environment has no PATH: what jobctl-spawner's execvp uses. */
const EXECVP_DEFAULT_PATH = '/bin:/usr/bin';

/** Why a command cannot start, or null when it can (as far as can be known before exec). */
export function preflight(argv0: string, cwd: string, env: Record<string, string>): string | null {
  const cwdProblem = checkDirectory(cwd);
  if (cwdProblem) return `cwd ${JSON.stringify(cwd)}: ${cwdProblem}`;
  if (argv0.includes('/')) {
    const file = resolve(cwd, argv0);
    const problem = checkExecutable(file) ?? checkInterpreter(file, cwd);
    return problem ? `${JSON.stringify(argv0)}: ${problem}` : null;
  }
  const searchPath = env.PATH ?? EXECVP_DEFAULT_PATH;
  let firstProblem: string | null = null;
  for (const dir of searchPath.split(delimiter)) {
    // An empty PATH entry means the current directory, as execvp and sh treat it.
    const candidate = join(isAbsolute(dir) ? dir : resolve(cwd, dir || '.'), argv0);
    const problem = checkExecutable(candidate);
    if (problem === null) {
      const interpreter = checkInterpreter(candidate, cwd);
      return interpreter ? `${JSON.stringify(candidate)}: ${interpreter}` : null;
    }
    if (!problem.startsWith('ENOENT') && firstProblem === null) firstProblem = `${JSON.stringify(candidate)}: ${problem}`;
  }
  return firstProblem ?? `${JSON.stringify(argv0)}: ENOENT: command not found in PATH ${JSON.stringify(searchPath)}`;
}

function checkDirectory(path: string): string | null {
  try {
    if (!statSync(path).isDirectory()) return 'ENOTDIR: not a directory';
    accessSync(path, constants.X_OK);
    return null;
  } catch (err) {
    return osReason(err);
  }
}

function checkExecutable(path: string): string | null {
  try {
    const st = statSync(path);
    if (st.isDirectory()) return 'EACCES: is a directory';
    accessSync(path, constants.X_OK);
    return null;
  } catch (err) {
    return osReason(err);
  }
}

/**
 * A script's `#!` interpreter must exist and be executable, or execve fails with ENOENT/EACCES after
 * the job was placed — reported by the kernel as if the script itself were missing. The classic is a
 * script saved with CRLF line ends (`#!/bin/sh\r`). Unreadable files are left to execve.
 */
function checkInterpreter(file: string, cwd: string): string | null {
  let head: Buffer;
  try {
    const fd = openSync(file, 'r');
    try {
      head = Buffer.alloc(256);
      head = head.subarray(0, readSync(fd, head, 0, head.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
  if (head[0] !== 0x23 || head[1] !== 0x21) return null; // "#!"
  const line = head.toString('latin1', 2).split('\n')[0] as string;
  const interpreter = line.replace(/^[ \t]+/, '').split(/[ \t]/)[0] as string;
  if (interpreter === '') return 'ENOEXEC: the #! line names no interpreter';
  // A relative interpreter is found from the process's cwd, as the kernel does.
  const problem = checkExecutable(resolve(cwd, interpreter));
  return problem ? `its interpreter ${JSON.stringify(interpreter)} (from the #! line): ${problem}` : null;
}

/** "ENOENT: no such file or directory" from a Node fs error. */
export function osReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') {
    const text = e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '[\s\S]*'$/, '');
    return `${e.code}: ${text}`;
  }
  return String(err);
}
