#!/usr/bin/env bash
# usage: set-superuser-password.sh PGDATA PASSWORD_FILE
# Sets the `postgres` role's password from PASSWORD_FILE on the stopped cluster in PGDATA, through a
# temporary server that listens on no TCP address and only on a private Unix socket (so nothing
# else can log in meanwhile), then stops it. Run as the cluster's OS user (postgres), which the
# socket's peer authentication maps to the role postgres. Called at each start by
# jarvis-entrypoint.sh; tested against a real cluster by test/superuser-password.test.ts.
set -Eeuo pipefail
pgdata="${1:?usage: set-superuser-password.sh PGDATA PASSWORD_FILE}"
password_file="${2:?usage: set-superuser-password.sh PGDATA PASSWORD_FILE}"
if [ ! -r "${password_file}" ] || [ ! -s "${password_file}" ]; then
  echo "set-superuser-password: ${password_file} is missing, empty or not readable by $(id -un): the stack uploads it owned by uid 999, mode 0400" >&2
  exit 1
fi
socket_dir="$(mktemp -d "${TMPDIR:-/tmp}/jarvis-password.XXXXXX")"
trap 'rm -rf "${socket_dir}"' EXIT
# No TCP, no WAL archiving (one catalog row changes), our socket only.
if ! pg_ctl -D "${pgdata}" -w -t 600 -l "${socket_dir}/server.log" \
  -o "-c listen_addresses= -c unix_socket_directories=${socket_dir} -c archive_mode=off" start >/dev/null; then
  echo "set-superuser-password: the temporary server did not start:" >&2
  cat "${socket_dir}/server.log" >&2
  exit 1
fi
# The password goes through a psql variable read from the file: never on a command line, never logged.
status=0
psql -X -q -v ON_ERROR_STOP=1 -h "${socket_dir}" -U postgres -d postgres <<SQL || status=$?
\\set pw \`cat "${password_file}"\`
SET log_statement = 'none';
ALTER ROLE postgres WITH PASSWORD :'pw';
SQL
pg_ctl -D "${pgdata}" -m fast -w -t 600 stop >/dev/null
if [ "${status}" -ne 0 ]; then
  echo "set-superuser-password: ALTER ROLE failed (psql exit ${status})" >&2
  exit "${status}"
fi
echo "set-superuser-password: the postgres role's password is the one in ${password_file}" >&2
