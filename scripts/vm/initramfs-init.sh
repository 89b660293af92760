#!/bb/busybox sh
# PID 1 of the jobctl test guest, built into the initramfs by mkinitramfs.mjs. Deliberately small and
# stable: it only loads the modules and mounts the per-run control share; everything that may change
# (mounts, cgroup layout, running the command, reporting) lives in guest-init.sh, which run.mjs copies
# into that share, so editing it never needs a new `prepare.sh`.
export PATH=/bb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do
  insmod "/modules/$m" || echo "[init] insmod $m failed"
done < /modules/order
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=none jobctl /jobctl && [ -f /jobctl/guest-init.sh ]; then
  exec sh /jobctl/guest-init.sh
fi
# No exit marker here: the host reports "guest ended without an exit code", which is the truth.
echo "[init] cannot mount the control share (tag jobctl); powering off"
poweroff -f
