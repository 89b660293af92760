#!/bin/sh
# Runs node test files in a pure cgroup v2 guest the way systemd runs a service with Delegate=yes:
# each file's node process alone in a non-root cgroup of its own (/sys/fs/cgroup/jobctl-vm-N.service)
# that the root offers cpu, io, memory and pids. The guest command otherwise runs in the root cgroup,
# where no delegation is needed; only here does jobctl have to move itself into
# <own>/<instance>/supervisor before it may enable controllers (src/cgroup/delegate.ts).
#   node scripts/vm/run.mjs --mode v2 -- sh scripts/vm/as-service.sh build/test/jobs/supervisor.kernel.test.js ...
# Prints each file's TAP (its own summary lines turned into "# [file] ..." comments), then one summary
# for all files ("# pass N", "# fail N"). A file that leaves a cgroup behind counts as a failure.
# Exit status: 0 when everything passed, 1 otherwise, 2 when the guest is not pure v2.
set -u
cg=/sys/fs/cgroup
if [ ! -f "$cg/cgroup.subtree_control" ] || [ -d "$cg/unified" ]; then
  echo "as-service.sh: needs a pure cgroup v2 guest (run.mjs --mode v2)" >&2
  exit 2
fi
echo "+cpu +io +memory +pids" > "$cg/cgroup.subtree_control" || exit 2

pass=0
fail=0
n=0
for file in "$@"; do
  n=$((n + 1))
  svc="$cg/jobctl-vm-$n.service"
  out="/tmp/as-service-$n.tap"
  mkdir "$svc" || exit 2
  echo "# as-service: $file alone in ${svc#$cg}"
  # The shell moves itself, then execs node: node starts alone in the service cgroup.
  sh -c 'echo $$ > "$1/cgroup.procs" && exec node --enable-source-maps --test-reporter=tap "$2"' sh "$svc" "$file" > "$out" 2>&1
  code=$?
  sed -E 's/^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /# [file] \1 /' "$out"
  p=$(sed -n -E 's/^# pass ([0-9]+)$/\1/p' "$out" | tail -n 1)
  f=$(sed -n -E 's/^# fail ([0-9]+)$/\1/p' "$out" | tail -n 1)
  if [ -z "$p" ] || [ -z "$f" ]; then
    echo "not ok - $file printed no TAP summary (exit $code)"
    fail=$((fail + 1))
  else
    pass=$((pass + p))
    fail=$((fail + f))
    if [ "$code" -ne 0 ] && [ "$f" -eq 0 ]; then
      echo "not ok - $file exited $code"
      fail=$((fail + 1))
    fi
  fi
  # Everything the file created under its own cgroup must be gone (its processes and cgroups).
  if ! rmdir "$svc" 2>/dev/null; then
    echo "not ok - $file left cgroups or processes behind in ${svc#$cg}:"
    find "$svc" -mindepth 1 -type d | sed 's/^/#   /'
    for d in $(find "$svc" -type d); do sed "s|^|#   pid in ${d#$cg}: |" "$d/cgroup.procs"; done
    fail=$((fail + 1))
  fi
done
echo "# pass $pass"
echo "# fail $fail"
[ "$fail" -eq 0 ]
