#!/usr/bin/env bash
# The quick start. On a fresh Debian machine, from a clean clone:
#   ./platform.sh up     install what is missing, then run the whole platform with a simulated fleet
#   ./platform.sh test   install what is missing, then run every test
#   ./platform.sh setup  only install what is missing (InfluxDB 1.x, npm packages, chromium for the console's tests)
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '\033[1m[platform]\033[0m %s\n' "$*" >&2; }

ensure_node() {
  if ! command -v node >/dev/null 2>&1; then
    say "Node.js 20 or newer is required: install it (Debian: apt-get install -y nodejs npm) and run again."
    exit 1
  fi
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 20 ]; then
    say "Node.js $(node --version) is too old: version 20 or newer is required."
    exit 1
  fi
}

ensure_influxd() {
  # With INFLUX_URL the platform uses that server and needs no local binary.
  if [ -n "${INFLUX_URL:-}" ] || command -v "${INFLUXD_PATH:-influxd}" >/dev/null 2>&1; then return; fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; fi
  fi
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
    say "influxd is missing: installing Debian's influxdb package (InfluxDB 1.x)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq influxdb >/dev/null
  else
    say "influxd is missing. Install InfluxDB 1.x (Debian/Ubuntu: sudo apt-get install -y influxdb),"
    say "or set INFLUX_URL to an InfluxDB 1.x server, then run this again."
    exit 1
  fi
}

ensure_chromium() {
  # The console's browser tests and its bench part drive Debian's chromium (playwright-core, no download).
  if [ -x /usr/bin/chromium ]; then return; fi
  local sudo=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; fi
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; }; then
    say "chromium is missing: installing Debian's chromium (and a CJK font for the Chinese console)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
  else
    say "chromium is missing: the console's browser tests need it (Debian: sudo apt-get install -y chromium)."
  fi
}

ensure_packages() {
  # npm ci when node_modules is missing or older than the lock file.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm packages (better-sqlite3 compiles from source: 2-3 minutes the first time)"
    npm ci --no-audit --no-fund
  fi
}

setup() { ensure_node; ensure_influxd; ensure_packages; }

case "${1:-up}" in
  up | start) setup; exec npm start --silent ;;
  test) setup; ensure_chromium; exec npm test ;;
  setup) setup; ensure_chromium ;;
  *) say "usage: ./platform.sh [up|test|setup]"; exit 64 ;;
esac
