#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a working ditto: installs
# what is needed, builds ditto, creates the embedded pool, reseeds a golden
# from a small sample database and shows `ditto copy run` at work.
set -euo pipefail

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
	echo "usage: sudo scripts/setup.sh   (uses DITTO_HOME, default /var/lib/ditto)"
	exit 0
fi
cd "$(dirname "$0")/.."
scripts/install.sh
ditto init
ditto reseed --dump scripts/sample.sql
echo "--- ditto copy run: a private copy for one command ---" >&2
ditto copy run -- psql -X -c "DELETE FROM orders" -c "SELECT count(*) AS orders_left_in_this_copy FROM orders"
echo "--- another copy still has every order ---" >&2
ditto copy run -- psql -X -c "SELECT count(*) AS orders_in_a_fresh_copy FROM orders"
ditto status
