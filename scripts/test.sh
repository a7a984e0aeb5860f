#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs vet, the unit and
# integration tests (real PostgreSQL, real Btrfs on loop devices) and the ZFS
# tests inside the OpenZFS test VM. Run as root on Debian 12.
set -euo pipefail

zfs=1
for arg in "$@"; do
	case "$arg" in
	--no-zfs) zfs=0 ;;
	-h | --help)
		echo "usage: sudo scripts/test.sh [--no-zfs]   (--no-zfs skips the OpenZFS VM run)"
		exit 0
		;;
	*) echo "unknown argument $arg" >&2; exit 2 ;;
	esac
done

cd "$(dirname "$0")/.."
scripts/install.sh --no-link
export PATH="$PWD/bin:$PATH"
go vet ./...
go test -count=1 -timeout 30m ./...
if ((zfs)); then
	scripts/test-zfs.sh
fi
