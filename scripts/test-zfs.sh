#!/usr/bin/env bash
# Compile Go test packages on the host and run them on real OpenZFS inside
# the test VM (scripts/zfs-vm-test.sh). See --help.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

usage() {
	cat <<'EOT'
Usage: scripts/test-zfs.sh [options] [PACKAGE...] [-- GO TEST FLAGS...]

Compiles each PACKAGE (default ./storage/zfs/) with `go test -c` on the host,
boots the ZFS test VM once and runs every test binary there, in its package
folder, with DITTO_TEST_ZFS_POOL naming a fresh pool. Go test flags default
to -test.v -test.count=1 -test.timeout=30m. Exits non-zero if any test fails.
When ./cmd/ditto is among the packages, the ditto binary is built too (with
-tags dittotest) and handed to its end-to-end tests as DITTO_TEST_BIN.

Options (passed to scripts/zfs-vm-test.sh):
  --env K=V | K      extra environment for the tests (repeatable)
  --mem SIZE         VM memory (default 4G)
  --timeout SECS     bound on boot + tests (default 2700)
  --provision        first run scripts/provision-zfs.sh (the Vagrant box's
                     provisioning: ZFS, pool, ditto build, ditto init) in the VM
  --verbose          stream the VM console too
  -h, --help         this help

Example:
  scripts/test-zfs.sh -- -test.v -test.run 'TestClone|TestDestroy'
EOT
}

vm_opts=()
pkgs=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	--env | --mem | --timeout)
		[[ $# -ge 2 ]] || { echo "test-zfs: $1 needs a value" >&2; exit 2; }
		vm_opts+=("$1" "$2")
		shift 2
		;;
	--verbose) vm_opts+=("$1"); shift ;;
	--provision) vm_opts+=(--env DITTO_VM_PROVISION=1); shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	-*) echo "test-zfs: unknown option $1 (see --help)" >&2; exit 2 ;;
	*) pkgs+=("$1"); shift ;;
	esac
done
flags=("$@")
[[ "${#flags[@]}" -gt 0 ]] || flags=(-test.v -test.count=1 -test.timeout=30m)
[[ "${#pkgs[@]}" -gt 0 ]] || pkgs=(./storage/zfs/)

bindir="$(mktemp -d /tmp/ditto-zfs-tests.XXXXXX)"
trap 'rm -rf "$bindir"' EXIT
cd "$repo"
: >"$bindir/tests"
start=$SECONDS
for p in "${pkgs[@]}"; do
	pkgdir="$(go list -f '{{.Dir}}' "$p")"
	name="$(go list -f '{{.Name}}' "$p")"
	bin="$bindir/$name-$(printf '%s' "$pkgdir" | md5sum | cut -c1-6).test"
	go test -c -o "$bin" "$p"
	if [[ "$pkgdir" == "$repo/cmd/ditto" && ! -x "$bindir/ditto" ]]; then
		go build -tags dittotest -o "$bindir/ditto" ./cmd/ditto
		vm_opts+=(--env "DITTO_TEST_BIN=$bindir/ditto")
	fi
	if [[ -x "$bin" ]]; then
		printf '%s\t%s\n' "$bin" "$pkgdir" >>"$bindir/tests"
	else
		echo "test-zfs: $p has no tests" >&2
	fi
done
echo "test-zfs: compiled ${#pkgs[@]} package(s) in $((SECONDS - start))s" >&2
cp "$here/lib/zfs-vm-gotest.sh" "$bindir/run.sh"
rc=0
# The VM sees the host's root read-only but has /tmp and /var/tmp of its
# own: share the tree explicitly, so a clone under /tmp (as in CI) is there.
"$here/zfs-vm-test.sh" "${vm_opts[@]}" --share "$bindir" --share "$repo" --cwd "$repo" -- \
	bash "$bindir/run.sh" "$bindir" "${flags[@]}" || rc=$?
exit "$rc"
