# Emulates a systemd service on pure v2: each test process alone in its own non-root cgroup
# (root has the controllers enabled, as systemd does).
echo "+cpu +memory +pids +io" > /sys/fs/cgroup/cgroup.subtree_control
n=0
for f in "$@"; do
  n=$((n+1))
  cg=/sys/fs/cgroup/jobctl-test-$n.service
  mkdir -p $cg
  sh -c 'echo $$ > "$1/cgroup.procs" && exec node --test-reporter=tap "$2"' sh "$cg" "$f" > /tmp/out-$n.txt 2>&1
  grep -vE "^ +(duration_ms|location|\.\.\.|---|type:)" /tmp/out-$n.txt
done
echo "controllers root: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
find /sys/fs/cgroup -mindepth 1 -type d | head -30
