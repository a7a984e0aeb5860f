#!/bin/sh
# /init of the ZFS test VM's initramfs (busybox sh). Mounts the host's root
# file system read-only over virtio-9p under an overlay whose writable upper
# layer lives on the scratch disk (ext4, /dev/vda), then hands over to
# /ditto-vm/guest.sh (from the host-side control share) under tini as PID 1.
# Built into the initramfs by scripts/zfs-vm-test.sh; not run on the host.
export PATH=/bin

say() { echo "ditto-vm init: $*"; }
fail() {
	say "FATAL: $*"
	echo o >/proc/sysrq-trigger
	sleep 30
}

mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
say "initramfs started at $(cut -d' ' -f1 /proc/uptime)s"

while read -r m; do
	insmod "/modules/$m" 2>/dev/null || say "insmod $m failed (ignored)"
done </modules.order

i=0
while [ ! -b /dev/vda ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/vda ] || fail "scratch disk /dev/vda did not appear"

mkdir -p /lower /scratch /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower ||
	fail "cannot mount the host root over 9p (tag hostroot)"
mount -t ext4 -o noatime /dev/vda /scratch || fail "cannot mount the scratch disk"
mkdir -p /scratch/upper /scratch/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/scratch/upper,workdir=/scratch/work /newroot ||
	fail "cannot mount the overlay root"
mkdir -p /newroot/ditto-vm /newroot/scratch
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 dittoctl /newroot/ditto-vm ||
	fail "cannot mount the control share (tag dittoctl)"
mount --move /scratch /newroot/scratch
mount --move /dev /newroot/dev
say "root ready at $(cut -d' ' -f1 /proc/uptime)s, switching"
umount /proc /sys
exec switch_root /newroot /usr/bin/tini -s -- /bin/bash /ditto-vm/guest.sh
