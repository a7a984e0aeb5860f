#!/usr/bin/env bash
# Provision a Debian 12 machine for ditto on ZFS: OpenZFS (contrib zfs-dkms),
# PostgreSQL 15, btrfs-progs, Go, a file-backed pool, and ditto built from a
# source tree. Used by the Vagrantfile; idempotent. See --help.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DITTO_LOG_PREFIX=provision-zfs
# shellcheck source=scripts/lib/zfs-common.sh
source "$here/lib/zfs-common.sh"

usage() {
	cat <<'EOT'
Usage: scripts/provision-zfs.sh [options]

Sets up a Debian 12 (bookworm) machine as root, idempotently:
  1. enables the contrib component and installs zfs-dkms and zfsutils-linux
     (DKMS builds zfs.ko for the running kernel, a few minutes), then loads it;
  2. installs PostgreSQL 15 and btrfs-progs;
  3. installs Go when no new enough go is found: Debian's golang-1.23 from
     bookworm-backports, which then fetches the exact toolchain that go.mod
     asks for through the Go module proxy (GOTOOLCHAIN=auto);
  4. creates a ZFS pool on a sparse file (no spare disk needed);
  5. builds ditto from the source tree into /usr/local/bin/ditto;
  6. runs `ditto init --backend zfs --dataset POOL/ditto`.

Options:
  --source DIR      ditto source tree (default: the tree holding this script)
  --pool NAME       pool name (default ditto)
  --pool-file PATH  file vdev (default /var/lib/ditto-zfs/POOL.img)
  --pool-size SIZE  sparse file size (default 20G)
  --no-build        skip steps 3, 5 and 6 (ZFS, PostgreSQL and the pool only)
  --no-init         skip step 6
  -h, --help        this help
EOT
}

src="$(cd "$here/.." && pwd)"
pool=ditto
pool_file=""
pool_size=20G
build=1
init=1
while [[ $# -gt 0 ]]; do
	case "$1" in
	--source | --pool | --pool-file | --pool-size)
		[[ $# -ge 2 && -n "$2" ]] || zc_die "$1 needs a value (see --help)"
		;;&
	--source) src=$2; shift 2 ;;
	--pool) pool=$2; shift 2 ;;
	--pool-file) pool_file=$2; shift 2 ;;
	--pool-size) pool_size=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	--no-init) init=0; shift ;;
	-h | --help) usage; exit 0 ;;
	*) zc_die "unknown option $1 (see --help)" ;;
	esac
done
[[ -n "$pool_file" ]] || pool_file="/var/lib/ditto-zfs/$pool.img"

zc_require_root
zc_require_debian
start=$SECONDS

# 1. ZFS, for the kernel that runs now.
kernel="$(uname -r)"
zc_install_zfs_dkms "$kernel"
if [[ ! -e /dev/zfs ]]; then
	modprobe zfs || zc_die "modprobe zfs failed: see 'dkms status' and /var/lib/dkms/zfs/*/build/make.log"
fi
zc_log "$(zfs version | head -n1), kernel $kernel"

# 2. PostgreSQL and btrfs-progs (ditto's other backend).
zc_apt_install postgresql-15 postgresql-client-15 btrfs-progs ca-certificates

# 4. The pool.
zc_create_file_pool "$pool" "$pool_file" "$pool_size"
zc_log "pool: $(zpool list -H -o name,size,health "$pool" | tr '\t' ' ')"

if [[ "$build" -eq 0 ]]; then
	zc_log "done in $((SECONDS - start))s (ditto not built: --no-build)"
	exit 0
fi

# 3. Go.
[[ -f "$src/go.mod" ]] || zc_die "$src/go.mod missing: pass the ditto source tree with --source"
need="$(awk '$1 == "go" {print $2; exit}' "$src/go.mod")"
go_ok() { # go_ok GO: GO exists and is at least $need
	local v
	v="$("$1" env GOVERSION 2>/dev/null)" || return 1
	v="${v#go}"
	[[ "$(printf '%s\n%s\n' "$need" "$v" | sort -V | head -n1)" == "$need" ]]
}
go=""
for g in "$(command -v go || true)" /usr/local/go/bin/go; do
	if [[ -n "$g" && -x "$g" ]] && go_ok "$g"; then go=$g; break; fi
done
if [[ -z "$go" ]]; then
	zc_enable_backports
	zc_apt_install golang-1.23-go
	go=/usr/lib/go-1.23/bin/go
	# go 1.23 downloads the go$need toolchain from the module proxy.
	export GOTOOLCHAIN=auto
	zc_log "using Debian's go 1.23 with GOTOOLCHAIN=auto to get go $need"
fi

# 5. ditto.
(cd "$src" && "$go" build -o /usr/local/bin/ditto.new ./cmd/ditto)
mv /usr/local/bin/ditto.new /usr/local/bin/ditto
zc_log "built /usr/local/bin/ditto from $src"

# 6. ditto on the pool.
if [[ "$init" -eq 1 ]]; then
	if ditto init --backend zfs --dataset "$pool/ditto"; then
		zc_log "ditto initialised on $pool/ditto"
	else
		zc_die "ditto init --backend zfs --dataset $pool/ditto failed (see above)"
	fi
fi
zc_log "done in $((SECONDS - start))s: try 'sudo ditto doctor', 'sudo ditto reseed --help'"
