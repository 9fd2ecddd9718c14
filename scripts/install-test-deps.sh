#!/usr/bin/env bash
# Installs the real servers the test suite starts on 127.0.0.1 (Debian 12 / Ubuntu, as root or
# with sudo). Idempotent: every step checks before it acts, so a second run is quick.
#
#   PostgreSQL 15 + pg_cron + pgBackRest + redis-server + promtool   (Debian packages)
#   pgvector 0.8.0 and pg_partman 5.2.4                              (built from Debian trixie sources,
#                                                                     the versions production images use)
#
# The package archive is the one this machine's apt is already configured with; no host is
# hard-coded. Chroma and the S3 API (s3rver) come from npm (`npm ci`), not from here.
set -euo pipefail

# --check: report what is missing and exit 1, install nothing (used by the newcomer-path test).
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PG_MAJOR=15
PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config"
BUILD_DIR="${JARVIS_DEPS_BUILD_DIR:-/var/tmp/jarvis-test-deps}"
log() { printf '[install-test-deps] %s\n' "$*"; }

packages=(
  "postgresql-${PG_MAJOR}" "postgresql-server-dev-${PG_MAJOR}" "postgresql-${PG_MAJOR}-cron"
  pgbackrest redis-server prometheus build-essential dpkg-dev ca-certificates openssl
  ceph-mon ceph-osd radosgw
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "$CHECK" = 1 ]; then
  ext_dir=$($PG_CONFIG --sharedir 2>/dev/null)/extension
  [ -f "$ext_dir/vector.control" ] || missing+=("pgvector")
  grep -q "default_version = '5" "$ext_dir/pg_partman.control" 2>/dev/null || missing+=("pg_partman 5")
  if [ ${#missing[@]} -gt 0 ]; then echo "missing: ${missing[*]}; run scripts/install-test-deps.sh" >&2; exit 1; fi
  log "ok: everything the tests need is installed"; exit 0
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # The postgresql package would create and start a cluster on 5432; tests use their own.
  $SUDO mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.d/no-main.conf >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts these services on install; the suite runs its own throwaway servers.
for svc in redis-server prometheus prometheus-node-exporter; do
  $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || $SUDO service "$svc" stop >/dev/null 2>&1 || true
done

# Source packages come from the trixie suite of the archive apt already uses.
ensure_trixie_sources() {
  local list=/etc/apt/sources.list.d/jarvis-trixie-src.list
  [ -f "$list" ] && return 0
  local uri
  uri=$(grep -hoE '^(URIs:|deb) +[a-z]+://[^ ]+/debian/?( |$)' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
        | awk '{print $2}' | grep -v security | head -n1 || true)
  if [ -z "$uri" ]; then
    echo "install-test-deps: cannot find the Debian archive in apt's sources; add a 'deb-src <archive> trixie main' line to $list by hand" >&2
    exit 1
  fi
  echo "deb-src [trusted=yes] ${uri%/} trixie main" | $SUDO tee "$list" >/dev/null
  $SUDO apt-get update -qq -o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
}

build_from_trixie() { # <source package> <orig tarball glob>
  local src=$1 glob=$2
  ensure_trixie_sources
  mkdir -p "$BUILD_DIR/$src" && cd "$BUILD_DIR/$src"
  apt-get source --download-only "$src" >/dev/null 2>&1 || true   # the .debian part may 404; the orig tarball is enough
  local tarball
  tarball=$(ls $glob 2>/dev/null | head -n1 || true)
  if [ -z "$tarball" ]; then echo "install-test-deps: could not download the $src source from the trixie suite" >&2; exit 1; fi
  rm -rf build && mkdir build && tar -xf "$tarball" -C build --strip-components=1
  make -C build PG_CONFIG="$PG_CONFIG" -s -j2 >/dev/null
  $SUDO make -C build PG_CONFIG="$PG_CONFIG" -s install >/dev/null
  cd - >/dev/null
}

ext_dir=$($PG_CONFIG --sharedir)/extension
if [ ! -f "$ext_dir/vector.control" ]; then
  log "building pgvector from the trixie source package"
  build_from_trixie pgvector 'pgvector_*.orig.tar.*'
fi
if ! grep -q "default_version = '5" "$ext_dir/pg_partman.control" 2>/dev/null; then
  log "building pg_partman 5.x from the trixie source package"
  build_from_trixie pg-partman 'pg-partman_*.orig.tar.*'
fi

log "ok: $($PG_CONFIG --version), pgvector $(grep default_version "$ext_dir/vector.control" | cut -d"'" -f2), pg_partman $(grep default_version "$ext_dir/pg_partman.control" | cut -d"'" -f2), $(redis-server --version | awk '{print $3}'), $(pgbackrest version), $(promtool --version 2>&1 | head -n1)"
