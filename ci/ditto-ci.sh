#!/usr/bin/env bash
# The shell steps of ditto's CI integrations (ci/github/*/action.yml,
# ci/gitlab/ditto.yml), usable from any CI system on a ditto box (the
# daemon's socket) or with DITTO_SERVER and DITTO_TOKEN for a remote one:
#
#   ditto-ci.sh create    make a copy for this job; export its URL
#   ditto-ci.sh destroy   destroy it (run it in an always-run step)
#
# create exports DATABASE_URL (or $DITTO_ENV_NAME) and DITTO_COPY_ID: into
# $GITHUB_ENV on GitHub Actions (the URL masked in the log), else as export
# lines on stdout for `eval`. It keeps the copy's ID in $DITTO_ID_FILE
# (default .ditto-copy-id) for destroy, which may run in another shell.
# Settings: DITTO_TTL (default 1h, so a runner that dies leaves nothing for
# long), DITTO_LABELS (KEY=VALUE ...), DITTO (the ditto binary). The CI run's
# labels (ci.*) are added by ditto itself.
set -euo pipefail

ditto=${DITTO:-ditto}
id_file=${DITTO_ID_FILE:-.ditto-copy-id}

create() {
	local args=(copy create --format env --ttl "${DITTO_TTL:-1h}")
	local label
	for label in ${DITTO_LABELS:-}; do
		args+=(--label "$label")
	done
	local lines
	lines=$("$ditto" "${args[@]}")
	eval "$lines" # ditto's own export lines, quoted for the shell
	printf '%s\n' "$DITTO_COPY_ID" >"$id_file"
	local name=${DITTO_ENV_NAME:-DATABASE_URL}
	if [[ -n ${GITHUB_ENV:-} ]]; then
		echo "::add-mask::$DATABASE_URL"
		printf '%s=%s\nDITTO_COPY_ID=%s\n' "$name" "$DATABASE_URL" "$DITTO_COPY_ID" >>"$GITHUB_ENV"
	else
		printf 'export %s=%q\nexport DITTO_COPY_ID=%q\n' "$name" "$DATABASE_URL" "$DITTO_COPY_ID"
	fi
	echo "ditto-ci: copy $DITTO_COPY_ID ready in $name" >&2
}

destroy() {
	local id=${DITTO_COPY_ID:-}
	if [[ -z $id && -f $id_file ]]; then
		id=$(<"$id_file")
	fi
	if [[ -z $id ]]; then
		echo "ditto-ci: no copy to destroy (no DITTO_COPY_ID, no $id_file)" >&2
		return 0
	fi
	"$ditto" copy destroy "$id"
	rm -f "$id_file"
	echo "ditto-ci: copy $id destroyed" >&2
}

case "${1:-}" in
create) create ;;
destroy) destroy ;;
*)
	echo "usage: ditto-ci.sh create|destroy" >&2
	exit 2
	;;
esac
