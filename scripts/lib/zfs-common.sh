# shellcheck shell=bash
# Shared shell functions for installing OpenZFS (and friends) on Debian 12.
# Sourced by scripts/zfs-vm-test.sh (host side of the ZFS test VM) and by
# scripts/provision-zfs.sh (the Vagrant box), so both exercise the same steps.
# Callers must run as root and use `set -euo pipefail`.

: "${DITTO_LOG_PREFIX:=ditto}"

zc_log() { printf '%s: %s\n' "$DITTO_LOG_PREFIX" "$*" >&2; }
zc_die() { printf '%s: error: %s\n' "$DITTO_LOG_PREFIX" "$*" >&2; exit 1; }

zc_require_root() {
	[[ "$(id -u)" -eq 0 ]] || zc_die "must run as root (try: sudo $0 ...)"
}

zc_require_debian() {
	[[ -r /etc/os-release ]] || zc_die "/etc/os-release missing: only Debian 12 (bookworm) is supported"
	local id version
	id="$(. /etc/os-release && printf '%s' "${ID:-}")"
	version="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")"
	[[ "$id" == debian ]] || zc_die "this is '$id', not Debian: install OpenZFS 2.1+, qemu and busybox-static by hand"
	[[ "$version" == bookworm ]] || zc_log "warning: tested on Debian 12 (bookworm), this is '$version'"
}

# zc_enable_contrib adds the contrib component to every Debian source that
# has main (deb822 .sources files and the legacy sources.list format). ZFS
# (zfs-dkms, zfsutils-linux) lives in contrib because of its licence.
# Prints "changed" when it modified a file, so callers know to apt-get update.
zc_enable_contrib() {
	local f changed=0
	shopt -s nullglob
	for f in /etc/apt/sources.list.d/*.sources; do
		if grep -qE '^Components:.*\bmain\b' "$f" && grep -E '^Components:' "$f" | grep -qvE '\bcontrib\b'; then
			sed -i -E '/^Components:/{/\bcontrib\b/!s/\bmain\b/main contrib/}' "$f"
			zc_log "enabled contrib in $f"
			changed=1
		fi
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -f "$f" ]] || continue
		if grep -qE '^deb(-src)?\s.*\smain(\s|$)' "$f" && grep -E '^deb(-src)?\s.*\smain(\s|$)' "$f" | grep -qvE '\scontrib(\s|$)'; then
			sed -i -E '/^deb(-src)?\s/{/\scontrib(\s|$)/!s/\smain(\s|$)/ main contrib\1/}' "$f"
			zc_log "enabled contrib in $f"
			changed=1
		fi
	done
	shopt -u nullglob
	if [[ "$changed" -eq 1 ]]; then echo changed; fi
}

# zc_missing_packages prints the packages among "$@" that are not installed.
zc_missing_packages() {
	local p status
	for p in "$@"; do
		status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
		[[ "$status" == installed ]] || printf '%s\n' "$p"
	done
}

# zc_apt_install installs the packages among "$@" that are missing, running
# apt-get update first when needed. Idempotent: does nothing (no network)
# when everything is installed.
zc_apt_install() {
	local -a missing
	mapfile -t missing < <(zc_missing_packages "$@")
	[[ "${#missing[@]}" -gt 0 ]] || return 0
	zc_log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if [[ -n "${ZC_APT_UPDATE_NEEDED:-}" ]] || ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
		apt-get -o DPkg::Lock::Timeout=900 update -qq
		ZC_APT_UPDATE_NEEDED=
	fi
	apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" </dev/null
}

# zc_install_zfs_userland enables contrib and installs the zfs tools.
zc_install_zfs_userland() {
	if [[ -n "$(zc_enable_contrib)" ]]; then ZC_APT_UPDATE_NEEDED=1; fi
	zc_apt_install zfsutils-linux
}

# zc_zfs_module_built KVER succeeds when a zfs module exists for kernel KVER.
zc_zfs_module_built() {
	modinfo -k "$1" zfs >/dev/null 2>&1
}

# zc_install_zfs_dkms [KVER...] enables contrib, installs the headers of each
# given kernel (linux-headers-amd64 when none is given, which follows
# linux-image-amd64), zfs-dkms and zfsutils-linux, and makes sure DKMS has
# built zfs.ko for each kernel. The build (~4 min) happens once per kernel:
# DKMS keeps the result in /lib/modules/KVER/updates/dkms.
zc_install_zfs_dkms() {
	local -a headers=() kernels=("$@")
	local k
	if [[ -n "$(zc_enable_contrib)" ]]; then ZC_APT_UPDATE_NEEDED=1; fi
	if [[ "${#kernels[@]}" -eq 0 ]]; then
		headers=(linux-headers-amd64)
	else
		for k in "${kernels[@]}"; do headers+=("linux-headers-$k"); done
	fi
	# Headers first, so that zfs-dkms's postinst already builds for them.
	zc_apt_install "${headers[@]}"
	local start=$SECONDS
	zc_apt_install dkms zfs-dkms zfsutils-linux
	if [[ "${#kernels[@]}" -eq 0 ]]; then
		mapfile -t kernels < <(zc_installed_kernels)
	fi
	for k in "${kernels[@]}"; do
		if ! zc_zfs_module_built "$k"; then
			[[ -d "/lib/modules/$k/build" ]] || { zc_log "no headers for kernel $k, skipping the zfs module build"; continue; }
			zc_log "building zfs.ko for kernel $k with DKMS (takes a few minutes)"
			dkms autoinstall -k "$k" >&2
		fi
		zc_zfs_module_built "$k" || zc_die "DKMS did not build zfs for kernel $k: see /var/lib/dkms/zfs/*/build/make.log"
	done
	if (( SECONDS - start > 5 )); then
		zc_log "zfs-dkms install and module build took $(( SECONDS - start ))s"
	fi
}

# zc_installed_kernels prints the versions of the Debian kernels installed
# under /boot (newest last).
zc_installed_kernels() {
	local f
	shopt -s nullglob
	for f in /boot/vmlinuz-*; do
		printf '%s\n' "${f#/boot/vmlinuz-}"
	done | sort -V
	shopt -u nullglob
}

# zc_pick_vm_kernel prints the newest installed kernel that has a zfs module.
zc_pick_vm_kernel() {
	local k best=
	while read -r k; do
		if [[ -d "/lib/modules/$k" ]] && zc_zfs_module_built "$k"; then best=$k; fi
	done < <(zc_installed_kernels)
	[[ -n "$best" ]] || return 1
	printf '%s\n' "$best"
}

# zc_create_file_pool POOL FILE SIZE creates a ZFS pool on a sparse file
# vdev (used when there is no spare disk, and inside the test VM where
# whole-disk pools fail without udev). Does nothing if POOL is imported.
zc_create_file_pool() {
	local pool=$1 file=$2 size=$3
	if zpool list -H -o name "$pool" >/dev/null 2>&1; then
		return 0
	fi
	if [[ -f "$file" ]]; then
		zpool import -d "$(dirname "$file")" "$pool" 2>/dev/null && return 0
	fi
	mkdir -p "$(dirname "$file")"
	truncate -s "$size" "$file"
	zpool create -f -o ashift=12 -O compression=lz4 -O atime=off -O mountpoint=none "$pool" "$file"
}

# zc_enable_backports adds bookworm-backports (for golang-1.23) if no source
# has it yet. Sets ZC_APT_UPDATE_NEEDED when it added one.
zc_enable_backports() {
	if grep -rqsE '(^Suites:.*|^deb\s.*\s)bookworm-backports(\s|$)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		return 0
	fi
	cat >/etc/apt/sources.list.d/ditto-backports.sources <<'EOT'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
	zc_log "enabled bookworm-backports in /etc/apt/sources.list.d/ditto-backports.sources"
	ZC_APT_UPDATE_NEEDED=1
}
