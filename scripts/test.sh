#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs vet, the unit and
# integration tests (real PostgreSQL, real Btrfs on loop devices) and the ZFS
# tests inside the OpenZFS test VM. Run as root on Debian 12.
set -euo pipefail

zfs=1
zfs_reliability=0
for arg in "$@"; do
	case "$arg" in
	--no-zfs) zfs=0 ;;
	--zfs-reliability) zfs_reliability=1 ;;
	-h | --help)
		echo "usage: sudo scripts/test.sh [--no-zfs] [--zfs-reliability]"
		echo "  --no-zfs           skip the OpenZFS VM run"
		echo "  --zfs-reliability  also run the rest of the reliability suite on OpenZFS (about 35 more"
		echo "                     minutes under emulation); its table goes to docs/reliability-zfs.md"
		exit 0
		;;
	*) echo "unknown argument $arg" >&2; exit 2 ;;
	esac
done

# The end-to-end tests that also run on ZFS: the backbone's behaviours
# (reseed, isolation, run and exit codes, reset, TTL, gc after kill -9,
# parallel copies, clean copy logs), a failed or interrupted reseed keeping
# the old golden, and the reliability suite's crash points and dead servers.
zfs_e2e='^Test(Copies|CrashPoints|InterruptedReseed|DeadCopyServer|DoctorWithPool|EmbeddedZFSPool)$'
# The rest of the reliability suite (access, bad input, a full pool, load):
# too long for CI under emulation, run with --zfs-reliability.
zfs_reliability_tests='^Test(Access|ErrorsTellWhatToDo|PoolFull|BadInput|Load|DamagedRecord|CopySettings)$'

cd "$(dirname "$0")/.."
scripts/install.sh --no-link --test
export PATH="$PWD/bin:$PATH"
go vet ./...
go test -count=1 -timeout 30m ./...
# The Vagrantfile cannot boot here (no box images); check its syntax.
if ! command -v vagrant >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq vagrant >/dev/null
fi
vagrant validate --ignore-provider
if ((zfs)); then
	# On real OpenZFS in the test VM (software emulation: ~10x slower than
	# the host): the backend's own tests, and the end-to-end behaviours of
	# the backbone and reliability issues.
	scripts/test-zfs.sh ./storage/zfs/
	# about 40 minutes under emulation; the VM's own bound (default 45) leaves no margin
	scripts/test-zfs.sh --provision --timeout 4200 ./cmd/ditto/ -- -test.v -test.count=1 -test.timeout=65m -test.run "$zfs_e2e"
	if ((zfs_reliability)); then
		scripts/test-zfs.sh --timeout 3600 --env "DITTO_RELIABILITY_REPORT=$PWD/docs/reliability-zfs.md" ./cmd/ditto/ -- \
			-test.v -test.count=1 -test.timeout=55m -test.run "$zfs_reliability_tests"
	fi
fi
