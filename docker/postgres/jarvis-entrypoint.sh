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

if [ "$(id -u)" = 0 ]; then
  # The official entrypoint drops to postgres the same way; the data directory belongs to postgres.
  exec gosu postgres "${BASH_SOURCE[0]}" "$@"
fi

if [ "${1:-}" = postgres ] && [ -s "${PGDATA}/PG_VERSION" ] && [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
  if [ ! -r "${POSTGRES_PASSWORD_FILE}" ]; then
    echo "jarvis-entrypoint: ${POSTGRES_PASSWORD_FILE} is not readable by postgres: the stack uploads it owned by uid 999, mode 0400" >&2
    exit 1
  fi
  socket_dir="$(mktemp -d /tmp/jarvis-password.XXXXXX)"
  # No TCP, no archiving (nothing is written but a catalog row), our socket only.
  pg_ctl -D "${PGDATA}" -w -t 600 -l "${socket_dir}/server.log" \
    -o "-c listen_addresses= -c unix_socket_directories=${socket_dir} -c archive_mode=off" start \
    || { cat "${socket_dir}/server.log" >&2; exit 1; }
  # The password goes through a psql variable read from the file: never on a command line.
  psql -X -q -v ON_ERROR_STOP=1 -h "${socket_dir}" -U postgres -d postgres <<SQL
\set pw \`cat "${POSTGRES_PASSWORD_FILE}"\`
SET log_statement = 'none';
ALTER ROLE postgres WITH PASSWORD :'pw';
SQL
  pg_ctl -D "${PGDATA}" -m fast -w -t 600 stop
  rm -rf "${socket_dir}"
  echo "jarvis-entrypoint: superuser password set from ${POSTGRES_PASSWORD_FILE}" >&2
fi

exec docker-entrypoint.sh "$@"
