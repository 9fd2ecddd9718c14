#!/bin/sh
# usage: check-pins.sh PACKAGE=VERSION-* ...
# Fails, naming the pin and the versions apt can see, when a pinned version is in none of the
# configured sources (the PostgreSQL apt repository and its archive suite). Run by the Dockerfile
# after `apt-get update`, before `apt-get install`; tested with a stand-in apt-cache by
# test/unit/images.test.ts.
set -eu
status=0
for pin in "$@"; do
  pkg="${pin%%=*}"
  want="${pin#*=}"
  prefix="${want%\*}"
  available="$(apt-cache madison "${pkg}" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -u | tr '\n' ' ')"
  found=no
  for v in ${available}; do
    case "${v}" in "${prefix}"*) found=yes ;; esac
  done
  if [ "${found}" = no ]; then
    echo "pin ${pin}: in neither the PostgreSQL apt repository nor its archive suite; available: ${available:-none}. Set jarvis:postgres.*Version to one of them." >&2
    status=1
  fi
done
exit "${status}"
