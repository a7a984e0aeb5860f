#!/usr/bin/env bash
# Warm copies against cold ones, in one run, through the daemon and the CLI
# as a user sees them: `ditto copy create` until SELECT 1 answers on the
# URL it printed, with `ditto serve --warm 2` (each create claims a warm
# copy; the pool is full again before the next) and with `--warm 0` (each
# create starts a server: the cold floor); 16 concurrent creates with
# --warm 16 and with --warm 0 (wall time, served warm/cold); and the CLI's
# own start, `ditto --version` against a minimal Go program. Makes its own
# state directory with an embedded pool below a temporary folder, and
# removes everything it made. Run as root (sudo), like scripts/bench.sh.
#
#   sudo scripts/bench-warm.sh            # 30 creates of each kind
#   sudo RUNS=100 scripts/bench-warm.sh
set -euo pipefail

cd "$(dirname "$0")/.."
if [[ -d /usr/local/go/bin ]]; then
	PATH="/usr/local/go/bin:$PATH"
fi
if [[ $(id -u) != 0 ]]; then
	echo "scripts/bench-warm.sh: run as root (sudo): it mounts a pool and runs postgres as the postgres user" >&2
	exit 1
fi
runs=${RUNS:-30}
work=$(mktemp -d /tmp/ditto-warm-bench.XXXXXX)
chmod 0711 "$work" # the postgres user reaches the home below it
home=$work/home
sock=$work/ditto.sock
daemon=""

cleanup() {
	set +e
	stop_daemon
	if [[ -f $home/config.json ]]; then
		"$work/ditto" --home "$home" gc >/dev/null 2>&1 # warm copies go once no daemon runs
		for id in $("$work/ditto" --home "$home" copy list --format json 2>/dev/null | python3 -c 'import json,sys; [print(c["id"]) for c in json.load(sys.stdin)]'); do
			"$work/ditto" --home "$home" copy destroy "$id" >/dev/null 2>&1
		done
	fi
	mountpoint -q "$home/pool" && umount "$home/pool"
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/ditto" ./cmd/ditto
mkdir "$work/hello"
printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n' >"$work/hello/main.go"
(cd "$work/hello" && go mod init hello >/dev/null 2>&1 && go build -o "$work/hello/hello" .)

ditto() { "$work/ditto" --home "$home" "$@"; }
client() { DITTO_SERVER="unix://$sock" "$work/ditto" "$@"; }
now() { date +%s%N; }
ms() { echo "scale=1; ($2 - $1) / 1000000" | bc; }
p50() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
warm_field() { client status --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['warm']['$1'])"; }

start_daemon() {
	"$work/ditto" --home "$home" --log-level debug serve --socket "$sock" --group root --warm "$1" 2>>"$work/serve.log" &
	daemon=$!
	until client status >/dev/null 2>&1; do sleep 0.05; done
}
stop_daemon() {
	if [[ -n $daemon ]]; then
		kill "$daemon" 2>/dev/null
		wait "$daemon" 2>/dev/null
		daemon=""
	fi
}
wait_warm() {
	until [[ $(warm_field copies) == "$1" ]]; do sleep 0.05; done
}

# one create through the CLI until SELECT 1 answers; prints its ms
create_until_select1() {
	local t0 t1 env
	t0=$(now)
	env=$(client copy create --ttl 10m --format env)
	eval "$env"
	psql -XAtq -c 'select 1' >/dev/null
	t1=$(now)
	client copy destroy "$DITTO_COPY_ID"
	ms "$t0" "$t1"
}

# n concurrent creates; prints the wall ms
concurrent_creates() {
	local n=$1 t0 t1 i
	rm -f "$work"/c.*
	t0=$(now)
	for i in $(seq "$n"); do
		client copy create --ttl 10m --format json >"$work/c.$i" &
	done
	wait
	t1=$(now)
	for i in $(seq "$n"); do
		client copy destroy "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/c.$i")"
	done
	ms "$t0" "$t1"
}

echo "setting up a pool and a golden (scripts/sample.sql) in $work ..." >&2
ditto init --size 4G --port-range 47000-47999 >/dev/null
ditto reseed --dump scripts/sample.sql >/dev/null 2>"$work/reseed.log" || { cat "$work/reseed.log" >&2; exit 1; }

echo "cold: $runs creates with --warm 0 ..." >&2
start_daemon 0
for _ in $(seq "$runs"); do create_until_select1; done >"$work/cold"
cold16=$(concurrent_creates 16)
stop_daemon

echo "warm: $runs creates with --warm 2 ..." >&2
start_daemon 2
for _ in $(seq "$runs"); do
	wait_warm 2
	create_until_select1
done >"$work/warm"
served_warm=$(warm_field served_warm)
memory=$(warm_field memory_bytes)
stop_daemon

echo "16 concurrent creates with --warm 16 ..." >&2
start_daemon 16
wait_warm 16
warm16=$(concurrent_creates 16)
warm16_served="$(warm_field served_warm) warm, $(warm_field served_cold) cold"
stop_daemon

echo "CLI start: 100 runs of each ..." >&2
t0=$(now)
for _ in $(seq 100); do "$work/hello/hello" >/dev/null; done
t1=$(now)
for _ in $(seq 100); do "$work/ditto" --version >/dev/null; done
t2=$(now)

# the daemon's own time per claim, from its debug log (took=1.234ms)
claims=$(python3 - "$work/serve.log" <<'PY'
import re, sys
units = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1, "s": 1000}
for line in open(sys.argv[1], encoding="utf-8"):
    m = re.search(r"warm copy claimed: .*took=([0-9.]+)(ns|µs|us|ms|s)", line)
    if m:
        print(float(m.group(1)) * units[m.group(2)])
PY
)
claim=$(p50 <<<"$claims")
cold=$(p50 <"$work/cold")
warm=$(p50 <"$work/warm")
cat <<EOF

| measure ($(nproc) cores, $(date -u +%Y-%m-%d), load $(cut -d' ' -f1-3 /proc/loadavg)) | value |
|---|---|
| cold create until SELECT 1, p50 of $runs (--warm 0) | $cold ms |
| warm create until SELECT 1, p50 of $runs (--warm 2; $served_warm served warm) | $warm ms |
| warm / cold | $(echo "scale=2; $warm / $cold" | bc)x |
| claim in the daemon (lock, pick, password, statistics, log, record), p50 | $claim ms |
| 16 concurrent creates, wall, --warm 0 | $cold16 ms |
| 16 concurrent creates, wall, --warm 16 ($warm16_served) | $warm16 ms |
| memory of 2 idle warm copies (PSS) | $((memory >> 20)) MiB |
| minimal Go program, mean of 100 | $(echo "scale=2; ($t1 - $t0) / 100000000" | bc) ms |
| ditto --version, mean of 100 | $(echo "scale=2; ($t2 - $t1) / 100000000" | bc) ms |
EOF
