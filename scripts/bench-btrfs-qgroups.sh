#!/usr/bin/env bash
# What Btrfs quota groups cost a copy create: on a fresh Btrfs image, makes a
# golden-like subvolume (PostgreSQL's files and 200 MiB of data), then times N
# snapshots, each followed by a 4 MiB fsync'd write (a copy's server start
# writes that much), first without quota groups, then with them enabled and
# an exclusive limit on each snapshot (what --max-size would need), and the
# destroy of all. Prints one line per round; removes everything it made.
# ditto refuses --max-size on Btrfs because of this cost (README, Security).
#
#   sudo scripts/bench-btrfs-qgroups.sh           # 40 snapshots, 2 rounds of each
#   sudo N=100 ROUNDS=1 scripts/bench-btrfs-qgroups.sh
set -euo pipefail
n=${N:-40}
rounds=${ROUNDS:-2}
pg=$(ls -d /usr/lib/postgresql/*/ | tail -1)

img="" mnt="" dev=""
cleanup() {
	[[ -n "$mnt" ]] && { umount "$mnt" 2>/dev/null || true; rmdir "$mnt"; }
	[[ -n "$dev" ]] && losetup -d "$dev"
	[[ -n "$img" ]] && rm -f "$img"
	img="" mnt="" dev=""
}
trap cleanup EXIT

percentile() { sort -n | awk -v p="$1" '{a[NR]=$1} END {print a[int(NR*p)+1]}'; }

round() {
	local quota=$1 i s e
	img=$(mktemp /var/tmp/qgroups.XXXXXX.img)
	mnt=$(mktemp -d /tmp/qgroups.XXXXXX)
	truncate -s 4G "$img"
	mkfs.btrfs -q "$img" >/dev/null 2>&1
	dev=$(losetup -f --show "$img")
	mount "$dev" "$mnt"
	btrfs subvolume create "$mnt/golden" >/dev/null
	cp -a "$pg" "$mnt/golden/pg"
	dd if=/dev/urandom of="$mnt/golden/data" bs=1M count=200 status=none
	sync
	if ((quota)); then
		btrfs quota enable "$mnt"
		btrfs quota rescan -w "$mnt" >/dev/null
	fi
	local times=()
	for i in $(seq "$n"); do
		s=$(date +%s%N)
		btrfs subvolume snapshot "$mnt/golden" "$mnt/c$i" >/dev/null
		((quota)) && btrfs qgroup limit -e 100M "$mnt/c$i"
		dd if=/dev/urandom of="$mnt/c$i/wal" bs=1M count=4 status=none conv=fsync
		e=$(date +%s%N)
		times+=($(((e - s) / 1000000)))
	done
	s=$(date +%s%N)
	for i in $(seq "$n"); do btrfs subvolume delete "$mnt/c$i" >/dev/null; done
	e=$(date +%s%N)
	printf 'quota groups %-3s  create p50 %4d ms  p90 %4d ms  max %4d ms  (%d snapshots); destroy all %d ms\n' \
		"$( ((quota)) && echo on || echo off)" \
		"$(printf '%s\n' "${times[@]}" | percentile 0.5)" "$(printf '%s\n' "${times[@]}" | percentile 0.9)" \
		"$(printf '%s\n' "${times[@]}" | percentile 0.999)" "$n" $(((e - s) / 1000000))
	cleanup
}

for _ in $(seq "$rounds"); do
	round 0
	round 1
done
