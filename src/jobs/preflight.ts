// Checks that a command can start before anything is spawned, so that "cannot start" is reported with
// the OS's own reason (ENOENT, EACCES, ENOTDIR) instead of the trampoline shell's exit code 127/126.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/** dash's built-in search path, used by the trampoline's `exec` when the job's env has no PATH. */
const SHELL_DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Why a command cannot start, or null when it can (as far as can be known before exec). */
export function preflight(argv0: string, cwd: string, env: Record<string, string>): string | null {
  const cwdProblem = checkDirectory(cwd);
  if (cwdProblem) return `cwd ${JSON.stringify(cwd)}: ${cwdProblem}`;
  if (argv0.includes('/')) {
    const problem = checkExecutable(resolve(cwd, argv0));
    return problem ? `${JSON.stringify(argv0)}: ${problem}` : null;
  }
  const searchPath = env.PATH ?? SHELL_DEFAULT_PATH;
  let firstProblem: string | null = null;
  for (const dir of searchPath.split(delimiter)) {
    // An empty PATH entry means the current directory, as execvp and sh treat it.
    const candidate = join(isAbsolute(dir) ? dir : resolve(cwd, dir || '.'), argv0);
    const problem = checkExecutable(candidate);
    if (problem === null) return null;
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

/** "ENOENT: no such file or directory" from a Node fs error. */
export function osReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') {
    const text = e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
    return `${e.code}: ${text}`;
  }
  return String(err);
}
