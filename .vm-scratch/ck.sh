set -x
cat /proc/self/cgroup
cat /sys/fs/cgroup/cgroup.controllers
mkdir /sys/fs/cgroup/t1
ls /sys/fs/cgroup/t1 | tr '\n' ' '
sh -c 'echo $$ > /sys/fs/cgroup/t1/cgroup.procs; exec sleep 100' &
sleep 1
cat /sys/fs/cgroup/t1/cgroup.procs
echo 1 > /sys/fs/cgroup/t1/cgroup.kill; echo "write rc=$?"
sleep 1
cat /sys/fs/cgroup/t1/cgroup.procs
cat /sys/fs/cgroup/t1/cgroup.events
ps -o pid,stat,comm 2>/dev/null | head || true
for p in $(cat /sys/fs/cgroup/t1/cgroup.procs); do cat /proc/$p/status | grep -E 'State|SigBlk|SigIgn|SigPnd|ShdPnd'; done
