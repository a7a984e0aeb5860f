#!/usr/bin/env bash
# What Btrfs quota groups cost a copy create and destroy. Makes two fresh
# Btrfs images, each with a golden-like subvolume (PostgreSQL's files and
# 200 MiB of data), enables quota groups on one, then alternates between
# them N times: a snapshot (with an exclusive limit on the quota side, as
# --max-size would need) followed by a 4 MiB fsync'd write, as a copy's
# server start writes; then deletes the snapshots, alternating too.
# Alternating keeps a busy machine's load the same on both sides. Prints the
# percentiles; removes everything it made. ditto refuses --max-size on Btrfs
# because of this cost (README, Security).
#
#   sudo scripts/bench-btrfs-qgroups.sh          # 40 snapshots on each side
#   sudo N=100 scripts/bench-btrfs-qgroups.sh
set -euo pipefail
n=${N:-40}
pg=$(ls -d /usr/lib/postgresql/*/ | tail -1)

declare -a imgs=() mnts=() devs=()
cleanup() {
	for m in "${mnts[@]}"; do umount "$m" 2>/dev/null || true; rmdir "$m"; done
	for d in "${devs[@]}"; do losetup -d "$d"; done
	for i in "${imgs[@]}"; do rm -f "$i"; done
}
trap cleanup EXIT

for side in 0 1; do
	img=$(mktemp /var/tmp/qgroups.XXXXXX.img)
	imgs+=("$img")
	mnt=$(mktemp -d /tmp/qgroups.XXXXXX)
	mnts+=("$mnt")
	truncate -s 4G "$img"
	mkfs.btrfs -q "$img" >/dev/null 2>&1
	dev=$(losetup -f --show "$img")
	devs+=("$dev")
	mount "$dev" "$mnt"
	btrfs subvolume create "$mnt/golden" >/dev/null
	cp -a "$pg" "$mnt/golden/pg"
	dd if=/dev/urandom of="$mnt/golden/data" bs=1M count=200 status=none
	sync
	if ((side)); then
		btrfs quota enable "$mnt"
		btrfs quota rescan -w "$mnt" >/dev/null
	fi
done

ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
declare -a create0=() create1=() destroy0=() destroy1=()
for i in $(seq "$n"); do
	for side in 0 1; do
		mnt=${mnts[$side]}
		s=$(date +%s%N)
		btrfs subvolume snapshot "$mnt/golden" "$mnt/c$i" >/dev/null
		if ((side)); then btrfs qgroup limit -e 100M "$mnt/c$i"; fi
		dd if=/dev/urandom of="$mnt/c$i/wal" bs=1M count=4 status=none conv=fsync
		eval "create$side+=($(ms "$s"))"
	done
done
for i in $(seq "$n"); do
	for side in 0 1; do
		s=$(date +%s%N)
		btrfs subvolume delete --commit-each "${mnts[$side]}/c$i" >/dev/null
		eval "destroy$side+=($(ms "$s"))"
	done
done

percentiles() { sort -n | awk '{a[NR]=$1} END {printf "p50 %4d ms  p90 %4d ms  max %4d ms", a[int(NR*0.5)+1], a[int(NR*0.9)+1], a[NR]}'; }
for side in 0 1; do
	label=off
	((side)) && label=on
	c="create$side[@]" d="destroy$side[@]"
	printf 'quota groups %-3s  create: %s   destroy: %s   (%d snapshots, alternating)\n' "$label" \
		"$(printf '%s\n' "${!c}" | percentiles)" "$(printf '%s\n' "${!d}" | percentiles)" "$n"
done
