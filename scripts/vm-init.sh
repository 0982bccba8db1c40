#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the test VM (see scripts/vm-run.sh). Stage 1 puts a writable
# tmpfs overlay over the read-only 9p root and chroots into it; stage 2
# mounts the pseudo file systems, runs the command of the run directory
# ($zc_run, from the kernel command line) on the virtio console, prints
# its exit code as "@@zc-exit N@@" and restarts the machine, which QEMU
# (-no-reboot) turns into its own exit.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8

reboot_now()
{
	# reboot(LINUX_REBOOT_MAGIC1, MAGIC2, LINUX_REBOOT_CMD_RESTART)
	perl -e 'syscall(169, 0xfee1dead, 672274793, 0x01234567, 0)'
	sleep 10
}

out=/dev/hvc0

if [ "${1:-}" != stage2 ]; then
	mount -t proc proc /proc
	mount -t tmpfs -o mode=0755 tmpfs /mnt
	mkdir -p /mnt/upper /mnt/work /mnt/root
	if mount -t overlay overlay \
		-o lowerdir=/,upperdir=/mnt/upper,workdir=/mnt/work /mnt/root 2>/dev/null; then
		umount /proc
		exec chroot /mnt/root "$0" stage2
	fi
	echo "vm-init: overlay root failed; using tmpfs on the writable paths" >"$out"
	umount /proc
	exec "$0" stage2 tmpfs
fi

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# A fresh /tmp, unless the repository itself lives under the host's /tmp.
case "${zc_run:-}" in
/tmp/*) ;;
*) mount -t tmpfs -o mode=1777 tmpfs /tmp ;;
esac
mount -t tmpfs -o mode=0755 tmpfs /run
if [ "${2:-}" = tmpfs ]; then
	mount -t tmpfs tmpfs /root
	mount -t tmpfs tmpfs /var/tmp
fi
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t debugfs debugfs /sys/kernel/debug
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
hostname zc-guest
ip link set lo up

exec </dev/null >"$out" 2>&1

# zc_run comes from the kernel command line, as an environment variable.
if [ -z "${zc_run:-}" ] || [ ! -f "$zc_run/cmd" ]; then
	echo "vm-init: no command (zc_run=${zc_run:-unset})"
	echo "@@zc-exit 2@@"
	reboot_now
fi

cd "$(cat "$zc_run/cwd")" || cd /
export ZC_RUN=$zc_run
unset zc_run
eval "$(cat "$ZC_RUN/cmd")"
rc=$?
sync
echo "@@zc-exit $rc@@"
reboot_now
