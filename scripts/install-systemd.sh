#!/usr/bin/env bash
# Installs ditto's systemd units from scripts/systemd/: ditto.service (the
# daemon, `ditto serve`: copies for the members of group ditto without sudo),
# ditto-gc.timer (runs `ditto gc` every 5 minutes, so TTLs hold on a CI box
# even when nobody runs ditto) and ditto-pool.service (mounts the embedded
# pool image at boot). Idempotent; run as root. Without a running systemd it
# does nothing.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/install-systemd.sh [--bin PATH] [--home DIR] [--unit-dir DIR] [--no-start]

Installs ditto.service, ditto-gc.service, ditto-gc.timer and
ditto-pool.service into /etc/systemd/system with the ditto binary and state
directory in use, then creates the socket's group (ditto, unless
`ditto init --group` chose another) if missing and enables and starts
ditto.service, ditto-gc.timer and ditto-pool.service. Add the users who may
use the daemon to the group: sudo usermod -aG ditto USER. Exits 0 without
doing anything when systemd is not running (a container, a chroot).

  --bin PATH      the ditto binary (default: ditto on PATH, else /usr/local/bin/ditto)
  --home DIR      the state directory (default: $DITTO_HOME, else /var/lib/ditto)
  --unit-dir DIR  install the units here instead (implies --no-start)
  --no-start      install only: no daemon-reload, enable or start
USAGE
}

bin="" home="${DITTO_HOME:-/var/lib/ditto}" unit_dir="" start=1
while (($#)); do
	case "$1" in
	--bin | --home | --unit-dir)
		(($# >= 2)) || { echo "install-systemd.sh: $1 needs a value" >&2; exit 2; }
		case "$1" in
		--bin) bin=$2 ;;
		--home) home=$2 ;;
		--unit-dir) unit_dir=$2 start=0 ;;
		esac
		shift 2
		;;
	--no-start) start=0; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

src="$(cd "$(dirname "$0")" && pwd)/systemd"
if [[ -z "$unit_dir" ]]; then
	if [[ ! -d /run/systemd/system ]]; then
		echo "install-systemd.sh: systemd is not running here; no units installed (run ditto gc from cron or CI instead)" >&2
		exit 0
	fi
	unit_dir=/etc/systemd/system
fi
[[ "$(id -u)" -eq 0 ]] || { echo "install-systemd.sh: run as root (sudo scripts/install-systemd.sh)" >&2; exit 1; }
if [[ -z "$bin" ]]; then
	bin="$(command -v ditto || echo /usr/local/bin/ditto)"
fi
[[ -x "$bin" ]] || { echo "install-systemd.sh: $bin is not an executable ditto: build it first (scripts/install.sh) or pass --bin PATH" >&2; exit 1; }
for p in "$bin" "$home"; do
	# the paths go into unit files: keep them plain absolute paths
	[[ "$p" == /* && "$p" != *[[:space:]\|\&\\%]* ]] || { echo "install-systemd.sh: $p: give an absolute path without spaces, |, &, % or backslashes" >&2; exit 2; }
done

mkdir -p "$unit_dir"
units=(ditto.service ditto-gc.service ditto-gc.timer ditto-pool.service)
for u in "${units[@]}"; do
	tmp="$(mktemp "$unit_dir/.$u.XXXXXX")"
	sed -e "s|/usr/local/bin/ditto|$bin|g" -e "s|/var/lib/ditto|$home|g" "$src/$u" >"$tmp"
	chmod 0644 "$tmp"
	mv -f "$tmp" "$unit_dir/$u"
done
echo "install-systemd.sh: installed ${units[*]} into $unit_dir (ditto $bin, home $home)" >&2

if ((start)); then
	group=ditto
	if [[ -r "$home/config.json" ]]; then
		# the group `ditto init --group NAME` chose
		chosen="$(sed -n 's/^ *"group": *"\([^"]*\)".*/\1/p' "$home/config.json")"
		group="${chosen:-$group}"
	fi
	if ! getent group "$group" >/dev/null; then
		groupadd --system "$group"
		echo "install-systemd.sh: created group $group; add the users who may use ditto: sudo usermod -aG $group USER" >&2
	fi
	systemctl daemon-reload
	systemctl enable --now ditto-gc.timer ditto-pool.service ditto.service
	echo "install-systemd.sh: ditto.service, ditto-gc.timer and ditto-pool.service enabled and started (socket /run/ditto/ditto.sock, group $group)" >&2
fi
