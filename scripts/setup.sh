#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (root, Node 20, npm 11) to build and test
# Waypoint. Safe to run again. Usage: bash scripts/setup.sh [--services]
#   --services  also install redis-server and chromium and check PostgreSQL 15,
#               for the integration and browser tests (`pnpm test:int`).
set -euo pipefail

readonly PNPM_VERSION=10.34.9
export DEBIAN_FRONTEND=noninteractive
# node-gyp must build native addons (better-sqlite3) against the local Node
# headers: it cannot download them here.
npm_config_nodedir="$(dirname "$(dirname "$(which node)")")"
export npm_config_nodedir
export TURBO_TELEMETRY_DISABLED=1

cd "$(dirname "${BASH_SOURCE[0]}")/.."

services=false
for arg in "$@"; do
  case "$arg" in
    --services) services=true ;;
    -h | --help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "setup: unknown argument: $arg (usage: bash scripts/setup.sh [--services])" >&2; exit 2 ;;
  esac
done

step() { echo "setup: $*"; }
die() { echo "setup: error: $*" >&2; exit 1; }

# Runs a command silently, but shows its output if it fails.
quietly() {
  local log status=0
  log="$(mktemp)"
  "$@" >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    cat "$log" >&2
    echo "setup: error: '$*' failed (exit $status)" >&2
  fi
  rm -f "$log"
  return "$status"
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ "$(pnpm --version 2>/dev/null || true)" = "$PNPM_VERSION" ]; then
  step "pnpm $PNPM_VERSION already installed"
else
  step "installing pnpm $PNPM_VERSION"
  quietly npm i -g "pnpm@$PNPM_VERSION"
fi

if [ "$services" = true ]; then
  # redis-cli (Debian's redis-tools, a dependency of redis-server) joins the tests' Redis Cluster.
  if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
    step "redis-server already installed ($(redis-server --version | cut -d' ' -f3))"
  else
    step "installing redis-server and redis-cli (apt)"
    quietly as_root apt-get update -q
    quietly as_root apt-get install -y -q redis-server redis-tools
  fi

  # Debian's Chromium, which playwright-core drives for the inspector's browser tests
  # (a browser download cannot work here).
  if command -v chromium >/dev/null; then
    step "chromium already installed ($(chromium --version 2>/dev/null | cut -d' ' -f2))"
  else
    step "installing chromium (apt)"
    quietly as_root apt-get update -q
    quietly as_root apt-get install -y -q chromium
  fi

  pg_bindir="$(pg_config --bindir 2>/dev/null)" \
    || die "pg_config not found: install the PostgreSQL 15 server (apt-get install -y postgresql-15 libpq-dev)"
  for binary in postgres initdb pg_ctl; do
    [ -x "$pg_bindir/$binary" ] \
      || die "$pg_bindir/$binary not found (pg_config --bindir): install the PostgreSQL 15 server (apt-get install -y postgresql-15)"
  done
  step "PostgreSQL found in $pg_bindir"
fi

if [ -f pnpm-lock.yaml ]; then
  step "pnpm install --frozen-lockfile"
  quietly pnpm install --frozen-lockfile
else
  step "pnpm install (no pnpm-lock.yaml yet)"
  quietly pnpm install
fi
step "done"
