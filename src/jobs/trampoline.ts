// The trampoline places a job's process into its cgroups before the user's command runs.
// Node cannot spawn straight into a cgroup (no clone3(CLONE_INTO_CGROUP)), so /bin/sh writes its own
// PID into every cgroup.procs file and then `exec`s the user's argv: the PID stays the same, so the
// command's first instruction already runs inside the cgroup. The user's argv is passed as positional
// parameters and run with `exec "$@"` — never parsed by the shell.
//
// fd 3 is the placement channel: "ok" then close before exec (the command does not inherit it), or the
// shell's own error text when a write failed (the command is then never run).

/** Exit code of the trampoline when it could not place itself (distinct from the command's codes). */
export const PLACEMENT_FAILED_EXIT = 125;

const SCRIPT = [
  'n=$1; shift',
  'while [ "$n" -gt 0 ]; do',
  // 2>&3 comes first so that the shell's message for a failed redirect reaches the placement channel.
  `  echo $$ 2>&3 >"$1" || { printf 'could not join cgroup %s\\n' "$1" >&3; exit ${PLACEMENT_FAILED_EXIT}; }`,
  '  n=$((n-1)); shift',
  'done',
  'printf ok >&3',
  'exec 3>&-',
  'exec "$@"',
].join('\n');

/** The file and arguments to spawn so that argv runs after joining every cgroup in procsFiles. */
export function trampolineCommand(procsFiles: readonly string[], argv: readonly string[]): { file: string; args: string[] } {
  return { file: '/bin/sh', args: ['-c', SCRIPT, 'jobctl-trampoline', String(procsFiles.length), ...procsFiles, ...argv] };
}
