// The trampoline places a job's process into its cgroups before the user's command runs.
// Node cannot spawn straight into a cgroup (no clone3(CLONE_INTO_CGROUP)), so /bin/sh writes its own
// PID into every cgroup.procs file and then `exec`s the user's argv: the PID stays the same, so the
// command's first instruction already runs inside the cgroup. The user's argv is passed as positional
// parameters and run with `exec "$@"` — never parsed by the shell.
//
// The shell runs with an EMPTY environment and the job's own environment reaches the command through
// `env -i NAME=VALUE… CMD`: a shell would change it on the way (dash drops names that are not shell
// identifiers such as `a.b`, sets PWD, PPID, OPTIND and IFS; bash adds SHLVL and `_`), and the script's
// own variables would shadow the user's. env(1) takes every argument with "=" before the command as a
// variable, so argv[0] must not contain "=" (rpc/fields.ts refuses it).
//
// fd 3 is the placement channel: "ok" then close before exec (the command does not inherit it), or the
// shell's own error text when a write failed (the command is then never run).

/** Exit code of the trampoline when it could not place itself (distinct from the command's codes). */
export const PLACEMENT_FAILED_EXIT = 125;

/** env(1), which starts the command with exactly the job's environment. */
export const ENV_PROGRAM = '/usr/bin/env';

const SCRIPT = [
  // No variables of its own: positional parameters only, so nothing can collide with anything.
  'while [ "$1" != -- ]; do',
  // 2>&3 comes first so that the shell's message for a failed redirect reaches the placement channel.
  `  echo $$ 2>&3 >"$1" || { printf 'could not join cgroup %s\\n' "$1" >&3; exit ${PLACEMENT_FAILED_EXIT}; }`,
  '  shift',
  'done',
  'shift',
  'printf ok >&3',
  'exec 3>&-',
  `exec ${ENV_PROGRAM} -i -- "$@"`,
].join('\n');

/**
 * The file, arguments and (empty) environment to spawn so that argv runs with exactly env after
 * joining every cgroup in procsFiles. procsFiles are absolute paths, so none is "--".
 */
export function trampolineCommand(
  procsFiles: readonly string[],
  argv: readonly string[],
  env: Readonly<Record<string, string>>,
): { file: string; args: string[]; env: Record<string, string> } {
  const assignments = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  return { file: '/bin/sh', args: ['-c', SCRIPT, 'jobctl-trampoline', ...procsFiles, '--', ...assignments, ...argv], env: {} };
}
