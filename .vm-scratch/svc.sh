# Emulates a systemd service on pure v2: the test process alone in its own non-root cgroup.
cg=/sys/fs/cgroup/jobctl-test.service
echo "+cpu +memory +pids +io" > /sys/fs/cgroup/cgroup.subtree_control
mkdir -p $cg
echo $$ > $cg/cgroup.procs
cat /proc/self/cgroup
for f in "$@"; do
  node --test-reporter=tap "$f" 2>&1 | grep -vE "^ +(duration_ms|location|\.\.\.|---|type:)" 
done
echo "controllers root: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
find /sys/fs/cgroup -mindepth 1 -type d | head -30
