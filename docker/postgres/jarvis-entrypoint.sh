#!/usr/bin/env bash
# jarvis-data's entrypoint for PostgreSQL: at every start of an existing cluster, set the `postgres`
# superuser's password from POSTGRES_PASSWORD_FILE (the stack's secret) before the server accepts
# any connection, then run the image's own entrypoint. The password is set through a temporary
# server that listens on no TCP address and on a private Unix socket, so nothing else can log in
# meanwhile. Why: the data volume outlives the container and the state. After a rotation, or a
# re-`up` that generated a new password because the state was lost, the kept cluster would
# otherwise still hold the old one and refuse the stack's own jobs (docs/first-up.md).
# A new cluster is initialised by the image's entrypoint with the same file, as before.
set -Eeuo pipefail

if [ "${1:-}" = postgres ] && [ -s "${PGDATA}/PG_VERSION" ] && [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
  # As the cluster's owner (the container starts as root; the image's entrypoint then drops to
  # postgres itself, after preparing the directories, as it always does).
  if [ "$(id -u)" = 0 ]; then
    gosu postgres set-superuser-password.sh "${PGDATA}" "${POSTGRES_PASSWORD_FILE}"
  else
    set-superuser-password.sh "${PGDATA}" "${POSTGRES_PASSWORD_FILE}"
  fi
fi

exec docker-entrypoint.sh "$@"
