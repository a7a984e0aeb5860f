#!/usr/bin/env bash
# Installs what ditto needs on Debian 12 (PostgreSQL 15, btrfs-progs, the
# cgo headers for Btrfs, Go modules) and builds the ditto binary into
# ./bin/ditto and /usr/local/bin/ditto. Idempotent; run as root.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/install.sh [--no-link] [--test]

Installs ditto's dependencies with apt-get and the Go module proxy, then
builds bin/ditto. Unless --no-link is given, /usr/local/bin/ditto is linked
to it so `ditto` is on the PATH, and the systemd units (gc timer, pool
mount at boot) are installed when systemd runs. --test also installs what
the test suite needs beyond that (pytest, psycopg and Node for the SDKs).
USAGE
}

link=1
test=0
for arg in "$@"; do
	case "$arg" in
	--no-link) link=0 ;;
	--test) test=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

cd "$(dirname "$0")/.."
[[ "$(id -u)" -eq 0 ]] || { echo "install.sh: run as root (sudo scripts/install.sh)" >&2; exit 1; }

# systemd gives systemd-analyze (the units' test), zsh the completion test
packages=(postgresql-15 postgresql-client-15 btrfs-progs libbtrfs-dev gcc util-linux ca-certificates iproute2 systemd zsh)
if ((test)); then
	# the SDKs' tests: Debian's pytest and psycopg, Node's test runner and
	# npm; the Rails recipe's: Debian's Rails 6.1 (not the rails
	# meta-package, which conflicts with a Node installed outside apt)
	packages+=(python3-pytest python3-psycopg ruby-railties ruby-activerecord ruby-pg)
	command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	# ditto runs its own servers: do not let the package start a system
	# cluster on port 5432 on a machine that had none.
	if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
		mkdir -p /etc/postgresql-common
		echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
	fi
	echo "install.sh: installing ${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "install.sh: Go not found: install Go 1.26 (see README)" >&2; exit 1; }
go mod download
mkdir -p bin
go build -o bin/ditto ./cmd/ditto
if ((link)); then
	ln -sf "$PWD/bin/ditto" /usr/local/bin/ditto
	# the CI steps' script, where ci/gitlab/ditto.yml looks for it
	install -D -m 0755 ci/ditto-ci.sh /usr/local/share/ditto/ditto-ci.sh
	scripts/install-systemd.sh --bin /usr/local/bin/ditto
fi
echo "install.sh: built $PWD/bin/ditto ($(go version | cut -d' ' -f3))" >&2
