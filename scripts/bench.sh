#!/usr/bin/env bash
# Benchmarks ditto side by side with the physical floor and the alternatives,
# and reseed against a plain restore and against reseed with masking rules:
# builds ditto and scripts/bench, then runs the benchmark, which makes its
# own state directory and pool, builds goldens of three sizes from pgbench
# data, measures, writes a markdown table and JSON, prints the table and
# removes everything it made. Run as root on Linux with PostgreSQL
# (pgbench included) and btrfs-progs, or zfsutils for --backend zfs.
#
#   sudo scripts/bench.sh --quick          # CI smoke run: small goldens, a few minutes
#   sudo scripts/bench.sh                  # 50 MB, 1 GB, 5 GB; writes scripts/bench/results.{md,json}
#   sudo scripts/bench.sh --backend zfs --dataset tank/ditto-bench
#   sudo scripts/bench.sh --help           # every flag
#
# --ditto BINARY measures another build of ditto (e.g. a prototype).
# Warm copies through the daemon against cold ones: scripts/bench-warm.sh.
set -euo pipefail

cd "$(dirname "$0")/.."
if [[ -d /usr/local/go/bin ]]; then
	PATH="/usr/local/go/bin:$PATH"
fi
for arg in "$@"; do
	case "$arg" in
	-h | --help | -help) go run ./scripts/bench --help; exit 0 ;;
	esac
done
if [[ $(id -u) != 0 ]]; then
	echo "scripts/bench.sh: run as root (sudo): it mounts a pool and runs postgres as the postgres user" >&2
	exit 1
fi

bin=$(mktemp -d /tmp/ditto-bench-bin.XXXXXX)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/ditto" ./cmd/ditto
go build -o "$bin/bench" ./scripts/bench
ditto=("--ditto" "$bin/ditto")
for arg in "$@"; do
	case "$arg" in
	--ditto | --ditto=* | -ditto | -ditto=*) ditto=() ;;
	esac
done
DITTO_BENCH_SRC="$PWD" DITTO_BENCH_COMMAND="scripts/bench.sh $*" "$bin/bench" "${ditto[@]}" "$@"
