#!/usr/bin/env bash
# Runs inside the ZFS test VM (see scripts/test-zfs.sh): every Go test binary
# listed in DIR/tests (lines "BINARY<TAB>PACKAGE DIR") in its package folder,
# with the given go test flags. Exits non-zero if any failed.
set -uo pipefail
dir=$1
shift
echo "== $(zfs version | head -n1) (kernel module $(cat /sys/module/zfs/version)), pool $DITTO_TEST_ZFS_POOL: $(zpool list -H -o health,size "$DITTO_TEST_ZFS_POOL" | tr '\t' ' ')"
failed=()
if [[ "${DITTO_VM_PROVISION:-}" == 1 ]]; then
	# The Vagrant box's provisioning, in this VM (packages are already
	# installed on the host whose root this VM sees, so it needs no network).
	echo "== scripts/provision-zfs.sh"
	start=$SECONDS
	if scripts/provision-zfs.sh; then
		echo "== provision-zfs.sh: ok in $((SECONDS - start))s"
	else
		echo "== provision-zfs.sh: FAILED after $((SECONDS - start))s"
		failed+=(provision-zfs.sh)
	fi
fi
out=$(mktemp)
while IFS=$'\t' read -r bin pkgdir; do
	echo "== $(basename "$bin") in $pkgdir"
	start=$SECONDS
	if (cd "$pkgdir" && "$bin" "$@" 2>&1 | tee -a "$out"; exit "${PIPESTATUS[0]}"); then
		echo "== $(basename "$bin"): ok in $((SECONDS - start))s"
	else
		rc=$?
		echo "== $(basename "$bin"): FAILED (exit $rc) after $((SECONDS - start))s"
		failed+=("$(basename "$bin")")
	fi
done <"$dir/tests"
# top-level tests only, as go test counts them
passed=$(grep -c '^--- PASS' "$out" || true)
failedn=$(grep -c '^--- FAIL' "$out" || true)
rm -f "$out"
if [[ "${#failed[@]}" -gt 0 ]]; then
	echo "== failed: ${failed[*]}"
	echo "zfs: $passed passed, $((failedn > 0 ? failedn : 1)) failed"
	exit 1
fi
echo "== all passed"
echo "zfs: $passed passed, 0 failed"
