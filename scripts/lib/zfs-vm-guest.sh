#!/bin/bash
# Runs inside the ZFS test VM as the child of tini (PID 1), from the control
# share /ditto-vm that scripts/zfs-vm-test.sh prepared on the host:
#   settings     shell variables (pool name and size, timeout, shares, cwd)
#   argv, env    the command and its extra environment, NUL-separated
#   zfs-common.sh  the shared install/pool functions
# It sets up the system (mounts, loopback, zfs module, pool), runs the command
# with its stdout/stderr on the virtio ports ditto.stdout/ditto.stderr, writes
# the exit code to /ditto-vm/exit-code and powers the VM off.
set -uo pipefail
ctl=/ditto-vm
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
exec 3>/dev/console
log() { printf 'ditto-vm: %s\n' "$*" >&3; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
poweroff_now() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 60
}
die() {
	log "FATAL: $*"
	printf 'ditto-vm: FATAL: %s\n' "$*" >>"$ctl/vm-error"
	poweroff_now
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
# A fresh /tmp and /var/tmp on the scratch disk: the host's are not wanted here.
mkdir -p /scratch/tmp /scratch/var-tmp
chmod 1777 /scratch/tmp /scratch/var-tmp
mount --bind /scratch/tmp /tmp
mount --bind /scratch/var-tmp /var/tmp
[[ -d /sys/fs/cgroup ]] && mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
ln -sf /proc/self/fd /dev/fd 2>/dev/null
ln -sf /proc/self/fd/0 /dev/stdin 2>/dev/null
ln -sf /proc/self/fd/1 /dev/stdout 2>/dev/null
ln -sf /proc/self/fd/2 /dev/stderr 2>/dev/null
mkdir -p /run/postgresql /run/lock
chown postgres:postgres /run/postgresql 2>/dev/null && chmod 2775 /run/postgresql

# shellcheck source=/dev/null
source "$ctl/settings" || die "cannot read $ctl/settings"
export DITTO_LOG_PREFIX=ditto-vm
# shellcheck source=scripts/lib/zfs-common.sh
source "$ctl/zfs-common.sh" || die "cannot read $ctl/zfs-common.sh"

hostname ditto-zfs-vm
ip link set lo up || die "cannot bring up the loopback interface"

modprobe virtio_console || die "modprobe virtio_console failed"
port_dev() {
	local f
	for f in /sys/class/virtio-ports/*/name; do
		if [[ "$(cat "$f")" == "$1" ]]; then
			printf '/dev/%s\n' "$(basename "$(dirname "$f")")"
			return 0
		fi
	done
	return 1
}
out_dev="" err_dev=""
for _ in $(seq 50); do
	out_dev="$(port_dev ditto.stdout)" && err_dev="$(port_dev ditto.stderr)" &&
		[[ -c "$out_dev" && -c "$err_dev" ]] && break
	sleep 0.1
done
[[ -c "$out_dev" && -c "$err_dev" ]] || die "virtio ports ditto.stdout/ditto.stderr not found"
exec 4>"$out_dev" 5>"$err_dev"
note() { printf 'ditto-vm: %s\n' "$*" >&5; log "$*"; }

# Writable host folders given with --share, at the same path as on the host.
for i in "${!SHARES[@]}"; do
	mkdir -p "${SHARES[$i]}"
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 "share$i" "${SHARES[$i]}" ||
		die "cannot mount share$i at ${SHARES[$i]}"
done

t0=$(uptime_s)
modprobe zfs || die "modprobe zfs failed: is zfs.ko built for $(uname -r)? (dkms status)"
t1=$(uptime_s)
[[ -e /dev/zfs ]] || die "/dev/zfs missing after modprobe zfs"
# shellcheck disable=SC2153 # POOL comes from $ctl/settings
vdev=/scratch/$POOL.vdev
zc_create_file_pool "$POOL" "$vdev" "$POOL_SIZE" >&3 2>&3 || die "zpool create $POOL failed"
t2=$(uptime_s)
zver="$(zfs version 2>/dev/null | tr '\n' ' ')"
health="$(zpool list -H -o health "$POOL")"
note "kernel $(uname -r), ${zver}, pool $POOL $health on file vdev $vdev ($POOL_SIZE)"
printf 'ready=%s\nmodprobe_zfs=%s\npool_create=%s\n' "$t2" \
	"$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')" \
	"$(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.2f", b-a}')" >"$ctl/ready"

mapfile -d '' -t argv <"$ctl/argv"
mapfile -d '' -t extra_env <"$ctl/env"
env_list=(
	"PATH=$PATH" "HOME=/root" "USER=root" "LOGNAME=root" "SHELL=/bin/bash"
	"LANG=C.UTF-8" "TMPDIR=/tmp" "TERM=dumb"
	"DITTO_VM=1" "DITTO_TEST_ZFS_POOL=$POOL"
	"${extra_env[@]}"
)
cd "$CWD" 2>/dev/null || { note "working directory $CWD missing in the VM, using /"; cd /; }
# Leave the host ~60 s after our deadline; the command gets what is left.
budget=$(awk -v t="$TIMEOUT" -v u="$(uptime_s)" 'BEGIN{b=int(t-u-20); if (b<10) b=10; print b}')
log "running (timeout ${budget}s): ${argv[*]}"
tc0=$(uptime_s)
env -i "${env_list[@]}" timeout --kill-after=10 "$budget" "${argv[@]}" </dev/null >&4 2>&5
rc=$?
tc1=$(uptime_s)
if [[ "$rc" -eq 124 ]]; then note "command timed out after ${budget}s"; fi
printf 'command=%s\n' "$(awk -v a="$tc0" -v b="$tc1" 'BEGIN{printf "%.2f", b-a}')" >>"$ctl/ready"
exec 4>&- 5>&-
sleep 0.2 # let the last bytes on the virtio ports reach the host
printf '%s\n' "$rc" >"$ctl/exit-code.tmp" && mv "$ctl/exit-code.tmp" "$ctl/exit-code"
log "command exited $rc; powering off"
poweroff_now
