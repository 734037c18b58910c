#!/usr/bin/env bash
# Installs, once and idempotently, the system software Ondol's local stack and test suite need on
# Debian bookworm: Mosquitto, PostgreSQL 15, Chromium, build tools, and TimescaleDB (Apache edition) built from
# Debian's trixie source package. Safe to re-run: each step checks before it acts, and the TimescaleDB
# build is cached.
set -euo pipefail

PG_MAJOR=15
TSDB_CACHE=${ONDOL_BUILD_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/ondol}
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

log() { printf '[install] %s\n' "$*"; }

APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    $SUDO apt-get update -qq
    APT_UPDATED=1
  fi
}

need_pkgs() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt_update_once
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# The Debian mirror this machine already uses, read from its own apt configuration, so that the
# source entry below points at the same mirror and the project names no host of its own.
debian_mirror() {
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list)
  fi
  printf '%s' "$uri"
}

tsdb_installed_version() {
  local control="/usr/share/postgresql/$PG_MAJOR/extension/timescaledb.control"
  [ -f "$control" ] && awk -F"'" '/default_version/ {print $2}' "$control" || true
}

# Debian trixie carries TimescaleDB's Apache edition as a source package. A deb-src entry (source
# only: binaries from another suite would upgrade libc) is added just long enough to fetch it.
fetch_timescaledb_source() {
  local src_list=/etc/apt/sources.list.d/ondol-trixie-src.sources
  local mirror
  mirror=$(debian_mirror)
  if [ -z "$mirror" ]; then
    echo "[install] cannot find this machine's Debian mirror in its apt configuration" >&2
    exit 1
  fi
  log "fetching the timescaledb source package from trixie (deb-src only)"
  $SUDO tee "$src_list" >/dev/null <<SRC
Types: deb-src
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  trap '$SUDO rm -f "$src_list"' EXIT
  $SUDO apt-get update -qq
  rm -rf "$TSDB_CACHE"/timescaledb-2* "$TSDB_CACHE"/timescaledb_*
  (cd "$TSDB_CACHE" && apt-get source -qq timescaledb >/dev/null 2>"$TSDB_CACHE/source.log") \
    || { cat "$TSDB_CACHE/source.log" >&2; exit 1; }
  $SUDO rm -f "$src_list"
  trap - EXIT
  $SUDO apt-get update -qq
}

install_timescaledb() {
  if [ -n "$(tsdb_installed_version)" ] && ls /usr/lib/postgresql/$PG_MAJOR/lib/timescaledb-*.so >/dev/null 2>&1; then
    log "TimescaleDB $(tsdb_installed_version) already installed for PostgreSQL $PG_MAJOR"
    return
  fi
  need_pkgs postgresql-server-dev-$PG_MAJOR cmake build-essential dpkg-dev libssl-dev libkrb5-dev
  mkdir -p "$TSDB_CACHE"
  local srcdir=""
  if [ -f "$TSDB_CACHE/.source-complete" ]; then
    srcdir=$(cat "$TSDB_CACHE/.source-complete")
  fi
  if [ -z "$srcdir" ] || [ ! -d "$srcdir" ]; then
    fetch_timescaledb_source
    srcdir=$(find "$TSDB_CACHE" -maxdepth 1 -type d -name 'timescaledb-2*' | sort | tail -n 1)
    [ -n "$srcdir" ] || { echo "[install] apt-get source timescaledb produced no source tree" >&2; exit 1; }
    printf '%s' "$srcdir" > "$TSDB_CACHE/.source-complete"
  fi
  local build="$srcdir/build-pg$PG_MAJOR"
  if [ ! -f "$build/.ondol-built" ]; then
    log "building TimescaleDB (Apache edition) in $build"
    cmake -S "$srcdir" -B "$build" -DAPACHE_ONLY=1 -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF \
      -DWARNINGS_AS_ERRORS=OFF -DSEND_TELEMETRY_DEFAULT=OFF -DUSE_TELEMETRY=OFF \
      -DPG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config >"$TSDB_CACHE/cmake.log" 2>&1 \
      || { tail -n 40 "$TSDB_CACHE/cmake.log"; exit 1; }
    cmake --build "$build" -j "$(nproc)" >"$TSDB_CACHE/build.log" 2>&1 \
      || { tail -n 40 "$TSDB_CACHE/build.log"; exit 1; }
    touch "$build/.ondol-built"
  fi
  log "installing TimescaleDB into PostgreSQL $PG_MAJOR's extension directory"
  $SUDO cmake --install "$build" >"$TSDB_CACHE/install.log" 2>&1 || { tail -n 40 "$TSDB_CACHE/install.log"; exit 1; }
  log "TimescaleDB $(tsdb_installed_version) installed"
}

need_pkgs ca-certificates make openssl mosquitto mosquitto-clients libmosquitto-dev postgresql-$PG_MAJOR \
  python3-venv util-linux
# The console's browser tests and benchmark drive Debian's Chromium (Playwright never downloads one);
# a Korean font makes their screenshots readable; pdftoppm (poppler-utils) checks the printed monthly
# report page by page.
need_pkgs chromium fonts-nanum poppler-utils
# The distribution's own broker and database services are not used: the project starts private ones.
# (Stopped and disabled, so that after a reboot they do not hold the ports the private servers use.)
for svc in mosquitto postgresql; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done
install_timescaledb
log "system set-up complete"
