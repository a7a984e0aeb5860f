#!/usr/bin/env bash
# Run one command as root inside a throw-away QEMU VM that has real OpenZFS,
# and bring back its output and exit code. See --help.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DITTO_LOG_PREFIX=zfs-vm-test
# shellcheck source=scripts/lib/zfs-common.sh
source "$here/lib/zfs-common.sh"

usage() {
	cat <<'EOT'
Usage: scripts/zfs-vm-test.sh [options] -- CMD [ARGS...]

Boots Debian's kernel in QEMU (TCG emulation), loads the zfs module built by
DKMS, creates a ZFS pool on a file vdev and runs CMD inside the VM as root.
CMD's stdout and stderr stream to this script's stdout and stderr; the
script exits with CMD's exit code (124 on timeout, 125 when the VM itself
failed). Needs root; installs what it needs with apt (idempotent; the first
run builds zfs.ko with DKMS, ~4 min, then it is kept in /lib/modules).

Inside the VM:
  - the host's root file system is visible read-only (virtio-9p) under a
    writable overlay on a scratch disk, so host binaries (PostgreSQL 15,
    zfs tools, `go test -c` binaries, the ditto binary) run unchanged and
    writes stay in the VM; /tmp and /var/tmp are fresh and writable;
  - a pool (default `dittotest`) on a sparse file vdev is imported, its
    name is in $DITTO_TEST_ZFS_POOL; DITTO_VM=1 is set;
  - the loopback interface is up (127.0.0.1); there is no other network;
  - the working directory is the host's current directory (or --cwd);
  - the environment is clean (PATH, HOME=/root, LANG, TMPDIR) plus --env.

Options:
  --mem SIZE         VM memory (default 4G)
  --cpus N           virtual CPUs (default: host CPUs, at most 4)
  --disk-size SIZE   sparse scratch disk for the overlay, /tmp and the pool
                     vdev (default 24G)
  --pool NAME        pool name (default dittotest)
  --pool-size SIZE   sparse file vdev size (default 8G)
  --env K=V          set K=V for CMD (repeatable); --env K passes the host's
                     value of K (error if unset)
  --share DIR        make host directory DIR writable in the VM at the same
                     path (repeatable), e.g. to bring back logs
  --cwd DIR          working directory of CMD in the VM (default: $PWD)
  --timeout SECS     bound on boot + command (default 2700); the VM is
                     killed past it and the script exits 124
  --kernel VERSION   kernel to boot (default: newest with a zfs module)
  --no-install       do not run apt/DKMS; fail if something is missing
  --install-only     install, build zfs.ko and the initramfs, then exit
  --verbose          stream the VM console (kernel and boot log) to stderr
  --keep             keep the temporary directory (disk, logs) for debugging
  -h, --help         this help

Examples:
  scripts/zfs-vm-test.sh -- zfs version
  go test -c -o /var/tmp/zfs.test ./storage/zfs &&
    scripts/zfs-vm-test.sh --env DITTO_DEBUG=1 -- /var/tmp/zfs.test -test.v
EOT
}

die125() { printf 'zfs-vm-test: error: %s\n' "$*" >&2; exit 125; }

mem=4G
cpus=$(nproc)
((cpus > 4)) && cpus=4
disk_size=24G
pool=dittotest
pool_size=8G
timeout=2700
kernel=""
install=1
install_only=0
verbose=0
keep=0
cwd="$PWD"
declare -a envs=() shares=()

need_arg() { [[ $# -ge 2 && -n "$2" ]] || die125 "$1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
	case "$1" in
	--mem) need_arg "$@"; mem=$2; shift 2 ;;
	--cpus) need_arg "$@"; cpus=$2; shift 2 ;;
	--disk-size) need_arg "$@"; disk_size=$2; shift 2 ;;
	--pool) need_arg "$@"; pool=$2; shift 2 ;;
	--pool-size) need_arg "$@"; pool_size=$2; shift 2 ;;
	--env)
		need_arg "$@"
		if [[ "$2" == *=* ]]; then
			envs+=("$2")
		else
			[[ -v "$2" ]] || die125 "--env $2: $2 is not set on the host"
			envs+=("$2=${!2}")
		fi
		shift 2
		;;
	--share)
		need_arg "$@"
		[[ -d "$2" ]] || die125 "--share $2: not a directory"
		shares+=("$(cd "$2" && pwd -P)")
		shift 2
		;;
	--cwd) need_arg "$@"; cwd=$2; shift 2 ;;
	--timeout) need_arg "$@"; timeout=$2; shift 2 ;;
	--kernel) need_arg "$@"; kernel=$2; shift 2 ;;
	--no-install) install=0; shift ;;
	--install-only) install_only=1; shift ;;
	--verbose) verbose=1; shift ;;
	--keep) keep=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	*) die125 "unknown option $1 (see --help); put the command after --" ;;
	esac
done
[[ "$timeout" =~ ^[0-9]+$ ]] || die125 "--timeout must be a number of seconds"
[[ "$cpus" =~ ^[0-9]+$ ]] || die125 "--cpus must be a number"
[[ "$pool" =~ ^[A-Za-z][A-Za-z0-9_.:-]*$ ]] || die125 "--pool $pool: not a valid pool name"
if [[ "$install_only" -eq 0 && $# -eq 0 ]]; then
	die125 "no command given: scripts/zfs-vm-test.sh [options] -- CMD [ARGS...] (see --help)"
fi
for e in "${envs[@]}"; do
	[[ "${e%%=*}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die125 "--env $e: not a valid variable name"
done

t_start=$SECONDS
start_ns=$(date +%s%N)
elapsed() { awk -v a="$start_ns" -v b="$(date +%s%N)" 'BEGIN{printf "%.1f", (b-a)/1e9}'; }

zc_require_root

# --- 1. packages and the zfs module -----------------------------------------
# Shared with scripts/provision-zfs.sh (the Vagrant box): contrib, zfs-dkms,
# zfsutils-linux. The VM boots Debian's packaged kernel, so its headers
# (linux-headers-amd64) are what DKMS builds against.
host_pkgs=(qemu-system-x86 busybox-static tini linux-image-amd64 e2fsprogs cpio kmod iproute2 postgresql-15)
if [[ "$install" -eq 1 ]]; then
	zc_require_debian
	t=$SECONDS
	zc_apt_install "${host_pkgs[@]}"
	# shellcheck disable=SC2119 # no kernel given: linux-headers-amd64
	zc_install_zfs_dkms
	if ((SECONDS - t > 2)); then zc_log "install step took $((SECONDS - t))s"; fi
else
	mapfile -t missing < <(zc_missing_packages "${host_pkgs[@]}" zfsutils-linux zfs-dkms)
	[[ "${#missing[@]}" -eq 0 ]] || die125 "missing packages: ${missing[*]} (run without --no-install)"
fi
if [[ -z "$kernel" ]]; then
	kernel="$(zc_pick_vm_kernel)" || die125 "no installed kernel has a zfs module: run without --no-install, or check 'dkms status'"
fi
[[ -f "/boot/vmlinuz-$kernel" ]] || die125 "kernel /boot/vmlinuz-$kernel not installed"
zc_zfs_module_built "$kernel" || die125 "no zfs module for kernel $kernel: dkms autoinstall -k $kernel"

# --- 2. initramfs (cached) ---------------------------------------------------
initramfs_modules=(virtio_pci virtio_blk 9pnet_virtio 9p overlay crc32c_generic ext4)
cache_dir=/var/cache/ditto/zfs-vm
mkdir -p "$cache_dir"
key="$(
	{
		printf '%s\n' "$kernel" "${initramfs_modules[@]}"
		cat "$here/lib/zfs-vm-init.sh" /bin/busybox "/lib/modules/$kernel/modules.dep"
	} | sha256sum | cut -c1-16
)"
initramfs="$cache_dir/initramfs-$kernel-$key.cpio.gz"
build_initramfs() {
	local root m f line
	root="$(mktemp -d)"
	mkdir -p "$root"/{bin,dev,proc,sys,modules}
	cp /bin/busybox "$root/bin/busybox"
	for m in sh mount umount insmod switch_root mkdir sleep cut cat echo; do
		ln -s busybox "$root/bin/$m"
	done
	cp "$here/lib/zfs-vm-init.sh" "$root/init"
	chmod 755 "$root/init"
	: >"$root/modules.order"
	for m in "${initramfs_modules[@]}"; do
		while read -r line; do
			[[ "$line" == insmod\ * ]] || continue
			f="$(awk '{print $2}' <<<"$line")"
			local base
			base="$(basename "$f")"
			grep -qxF "${base%%.ko*}.ko" "$root/modules.order" && continue
			case "$f" in
			*.ko) cp "$f" "$root/modules/${base}" ;;
			*.ko.xz) xz -dc "$f" >"$root/modules/${base%.xz}" ;;
			*.ko.zst) zstd -qdc "$f" >"$root/modules/${base%.zst}" ;;
			*.ko.gz) gzip -dc "$f" >"$root/modules/${base%.gz}" ;;
			*) die125 "unexpected module file $f" ;;
			esac
			printf '%s\n' "${base%%.ko*}.ko" >>"$root/modules.order"
		done < <(modprobe -S "$kernel" --show-depends "$m")
	done
	local out
	out="$(mktemp "$cache_dir/.initramfs.XXXXXX")"
	(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$out"
	chmod 644 "$out"
	mv "$out" "$initramfs"
	rm -rf "$root"
}
if [[ ! -s "$initramfs" ]]; then
	t=$SECONDS
	rm -f "$cache_dir"/initramfs-*.cpio.gz
	build_initramfs
	zc_log "built initramfs $initramfs in $((SECONDS - t))s"
fi
if [[ "$install_only" -eq 1 ]]; then
	zc_log "ready: kernel $kernel, initramfs $initramfs"
	exit 0
fi

# --- 3. boot -----------------------------------------------------------------
# Leftovers of runs killed with SIGKILL (no trap ran): their folder, and
# their qemu if it still runs (recorded by PID, checked by its name).
for d in /tmp/ditto-zfs-vm.*; do
	[[ -f "$d/owner.pid" ]] || continue
	owner="$(cat "$d/owner.pid")"
	kill -0 "$owner" 2>/dev/null && continue
	if [[ -f "$d/qemu.pid" ]]; then
		q="$(cat "$d/qemu.pid")"
		cmdline="$(tr '\0' ' ' <"/proc/$q/cmdline" 2>/dev/null || true)"
		if [[ "$cmdline" == *"-name ditto-zfs-vm "* ]]; then
			zc_log "killing qemu $q left by a killed run"
			kill "$q" 2>/dev/null || true
		fi
	fi
	rm -rf "$d"
done
tmp="$(mktemp -d /tmp/ditto-zfs-vm.XXXXXX)"
echo "$$" >"$tmp/owner.pid"
qemu_pid="" tail_pids=()
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [[ -n "$qemu_pid" ]] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
		for _ in $(seq 20); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$qemu_pid" 2>/dev/null || true
	fi
	for p in "${tail_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [[ "$keep" -eq 1 ]]; then
		zc_log "kept $tmp"
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'zc_log "interrupted"; exit 130' INT
trap 'zc_log "terminated"; exit 143' TERM HUP

ctl="$tmp/ctl"
mkdir -p "$ctl"
cp "$here/lib/zfs-vm-guest.sh" "$ctl/guest.sh"
cp "$here/lib/zfs-common.sh" "$ctl/zfs-common.sh"
printf '%s\0' "$@" >"$ctl/argv"
if [[ "${#envs[@]}" -gt 0 ]]; then printf '%s\0' "${envs[@]}" >"$ctl/env"; else : >"$ctl/env"; fi
{
	printf 'POOL=%q\nPOOL_SIZE=%q\nTIMEOUT=%q\nCWD=%q\n' "$pool" "$pool_size" "$timeout" "$cwd"
	printf 'SHARES=('
	if [[ "${#shares[@]}" -gt 0 ]]; then printf '%q ' "${shares[@]}"; fi
	printf ')\n'
} >"$ctl/settings"

disk="$tmp/scratch.img"
truncate -s "$disk_size" "$disk"
mkfs.ext4 -q -F -L ditto-scratch -E lazy_itable_init=1,lazy_journal_init=1 "$disk"
: >"$tmp/stdout" && : >"$tmp/stderr" && : >"$tmp/console.log" && : >"$tmp/qemu.log"

qemu=(
	qemu-system-x86_64 -name ditto-zfs-vm -nodefaults -no-user-config -display none -no-reboot
	-accel "tcg,thread=multi" -cpu max -smp "$cpus" -m "$mem"
	-kernel "/boot/vmlinuz-$kernel" -initrd "$initramfs"
	-append "console=ttyS0 panic=-1 loglevel=4 rootwait=0 mitigations=off"
	-serial "file:$tmp/console.log"
	-drive "file=$disk,format=raw,if=virtio,cache=unsafe,discard=unmap"
	-virtfs "local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap"
	-virtfs "local,path=$ctl,mount_tag=dittoctl,security_model=passthrough,multidevs=remap"
	-device virtio-serial-pci
	-chardev "file,id=out,path=$tmp/stdout" -device "virtserialport,chardev=out,name=ditto.stdout"
	-chardev "file,id=err,path=$tmp/stderr" -device "virtserialport,chardev=err,name=ditto.stderr"
)
for i in "${!shares[@]}"; do
	qemu+=(-virtfs "local,path=${shares[$i]},mount_tag=share$i,security_model=passthrough,multidevs=remap")
done

zc_log "booting kernel $kernel under TCG ($cpus CPUs, $mem) ..."
boot_ns=$(date +%s%N)
"${qemu[@]}" </dev/null >"$tmp/qemu.log" 2>&1 &
qemu_pid=$!
echo "$qemu_pid" >"$tmp/qemu.pid"
tail -n +1 -s 0.2 -f --pid="$qemu_pid" "$tmp/stdout" &
tail_pids+=($!)
tail -n +1 -s 0.2 -f --pid="$qemu_pid" "$tmp/stderr" >&2 &
tail_pids+=($!)
if [[ "$verbose" -eq 1 ]]; then
	tail -n +1 -s 0.2 -f --pid="$qemu_pid" "$tmp/console.log" >&2 &
	tail_pids+=($!)
fi

deadline=$((SECONDS + timeout + 60))
boot_s=""
timed_out=0
while kill -0 "$qemu_pid" 2>/dev/null; do
	if [[ -z "$boot_s" && -f "$ctl/ready" ]]; then
		boot_s=$(awk -v a="$boot_ns" -v b="$(date +%s%N)" 'BEGIN{printf "%.1f", (b-a)/1e9}')
		zc_log "VM ready (zfs loaded, pool $pool) after ${boot_s}s"
	fi
	if ((SECONDS > deadline)); then
		zc_log "timeout: the VM is still running after ${timeout}s (+60s grace); killing it"
		timed_out=1
		kill "$qemu_pid" 2>/dev/null || true
		break
	fi
	sleep 0.2
done
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=""
for p in "${tail_pids[@]}"; do wait "$p" 2>/dev/null || true; done
tail_pids=()

rc=125
if [[ -s "$ctl/exit-code" ]]; then
	rc="$(cat "$ctl/exit-code")"
elif [[ "$timed_out" -eq 1 ]]; then
	rc=124
fi
if [[ -s "$ctl/vm-error" || ! -s "$ctl/exit-code" ]]; then
	[[ -s "$ctl/vm-error" ]] && cat "$ctl/vm-error" >&2
	if [[ "$verbose" -eq 0 ]]; then
		zc_log "the VM did not report an exit code; last lines of its console:"
		tail -n 40 "$tmp/console.log" >&2 || true
	fi
	if [[ "$qemu_rc" -ne 0 ]]; then
		zc_log "qemu exited $qemu_rc:"
		tail -n 20 "$tmp/qemu.log" >&2 || true
	fi
fi

timing=""
if [[ -f "$ctl/ready" ]]; then
	declare -A vt=()
	while IFS='=' read -r k v; do vt[$k]=$v; done <"$ctl/ready"
	timing="boot to ready ${boot_s:-?}s (in the guest: ${vt[ready]:-?}s after kernel start, modprobe zfs ${vt[modprobe_zfs]:-?}s, pool create ${vt[pool_create]:-?}s), command ${vt[command]:-?}s, "
fi
zc_log "${timing}total $(elapsed)s (wall $((SECONDS - t_start))s), exit code $rc"
exit "$rc"
