#!/bb/busybox sh
# Runs inside the guest as PID 1 (exec'd by the initramfs /init). Sets up the mounts and the cgroup
# layout for $JOBCTL_VM_MODE, runs /jobctl/cmd.sh as a child in the root cgroup, then reports its
# exit status on the console as "@@JOBCTL_VM_EXIT <nonce> <code>@@" (and in /jobctl/exit-code):
# `poweroff -f` cannot carry an exit status out of qemu, so the host parses that line instead.
export PATH=/bb
. /jobctl/env.sh
say() { echo "[guest $(cut -d' ' -f1 /proc/uptime)s] $*"; }
finish() {
  echo "@@JOBCTL_VM_EXIT $JOBCTL_VM_NONCE $1@@"
  echo "$1" > /jobctl/exit-code
  sync
  umount /mnt/disk 2>/dev/null
  poweroff -f
}
fail() { say "setup failed: $*"; finish 125; }
# msize: 9p's default (8 KiB) makes every node_modules read many round trips; 256 KiB is what the
# 6.1 virtio transport accepts. cache=loose for the read-only shares: nothing changes them while
# the guest runs, and it saves a round trip per stat, which node does a lot of.
m9p() { # tag dir options
  mkdir -p "$2" && mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144,$3" "$1" "$2" || fail "9p mount of $1 on $2"
}

say "init: modules loaded, mode $JOBCTL_VM_MODE"
# What udev/systemd would normally provide and programs take for granted.
ln -sf /proc/self/fd /dev/fd && ln -sf /proc/self/fd/0 /dev/stdin && ln -sf /proc/self/fd/1 /dev/stdout && ln -sf /proc/self/fd/2 /dev/stderr
hostname jobctl-vm
# Loopback only (the guest has no NIC): tests bind servers on 127.0.0.1 / ::1.
ip link set lo up || fail "loopback up"
mkdir -p /dev/pts && mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mkdir -p /dev/shm && mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm
# Writable scratch space before the repo share: a repo that lives under /tmp is mounted on top.
mount -t tmpfs -o mode=1777,nosuid,nodev tmp /tmp || fail "tmpfs /tmp"
mount -t tmpfs -o mode=755,nosuid,nodev run /run || fail "tmpfs /run"
mount -t tmpfs -o mode=755 var /var && mkdir -p /var/tmp && chmod 1777 /var/tmp
m9p usr /usr ro,cache=loose
m9p etc /etc ro,cache=loose
if [ "$JOBCTL_VM_REPO_RW" = 1 ]; then
  m9p repo "$JOBCTL_VM_REPO" rw,cache=mmap
else
  m9p repo "$JOBCTL_VM_REPO" ro,cache=loose
fi

# The test disk: a real block device (the 9p and tmpfs mounts have none) for io limits and stats.
i=0
while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/vda ] || fail "no /dev/vda after 30 s"
mount -t ext4 /dev/vda /mnt/disk || fail "mount /dev/vda on /mnt/disk"
chmod 1777 /mnt/disk

cg=/sys/fs/cgroup
case "$JOBCTL_VM_MODE" in
  v2)
    # Straight on /sys/fs/cgroup with systemd's options, and no tmpfs underneath: a pure v2 host's
    # mountinfo has exactly one entry there.
    mount -t cgroup2 -o nosuid,nodev,noexec,nsdelegate,memory_recursiveprot cgroup2 $cg || fail "mount cgroup2"
    ;;
  hybrid)
    # systemd's hybrid layout: v1 controllers (cpu,cpuacct co-mounted, with the usual symlinks), a
    # named systemd hierarchy, and a controller-less cgroup2 at unified/.
    mount -t tmpfs -o mode=755,nosuid,nodev,noexec cgroup $cg || fail "tmpfs on $cg"
    for c in cpuset cpu,cpuacct blkio memory devices freezer pids; do
      mkdir -p $cg/$c && mount -t cgroup -o nosuid,nodev,noexec,$c cgroup $cg/$c || fail "mount v1 $c"
    done
    ln -s cpu,cpuacct $cg/cpu && ln -s cpu,cpuacct $cg/cpuacct
    mkdir -p $cg/systemd && mount -t cgroup -o nosuid,nodev,noexec,none,name=systemd cgroup $cg/systemd || fail "mount name=systemd"
    mkdir -p $cg/unified && mount -t cgroup2 -o nosuid,nodev,noexec,nsdelegate cgroup2 $cg/unified || fail "mount cgroup2 on unified"
    ;;
  *) fail "unknown mode '$JOBCTL_VM_MODE'" ;;
esac

cd "$JOBCTL_VM_CWD" || fail "cd $JOBCTL_VM_CWD"
say "ready; running the command in $JOBCTL_VM_CWD"
echo "@@JOBCTL_VM_START $JOBCTL_VM_NONCE@@"
# A clean environment like a CI job's; cmd.sh adds the --env extras and execs the command.
env -i PATH=/usr/bin:/bin HOME=/root TMPDIR=/tmp LANG=C.UTF-8 TERM=dumb \
  JOBCTL_VM="$JOBCTL_VM_MODE" JOBCTL_VM_DISK=/mnt/disk /bin/sh /jobctl/cmd.sh < /dev/null
code=$?
say "command exited with $code"
finish $code
