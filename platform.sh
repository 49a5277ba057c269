#!/usr/bin/env bash
# The quick start. On a fresh Debian machine, from a clean clone:
#   ./platform.sh up     install what is missing, then run the whole platform with a simulated fleet
#   ./platform.sh test   install what is missing, then run every test
#   ./platform.sh cluster  the same as a demo cluster: Redis, PostgreSQL, 3 broker nodes, 2 ingest
#                        workers, 2 API replicas and a fleet spread over the nodes (Ctrl-C stops all)
#   ./platform.sh setup  only install what is missing (InfluxDB 1.x, npm packages, and for the tests
#                        and benchmarks VictoriaMetrics, Redis 7 and PostgreSQL 15, the MQTT clients
#                        mosquitto_pub and paho, and chromium for the console's tests)
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

# apt-get install as root or with passwordless sudo; returns 1 when neither is possible.
apt_updated=""
apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; else return 1; fi
  fi
  command -v apt-get >/dev/null 2>&1 || return 1
  # A fresh machine has no package lists yet.
  if [ -z "$apt_updated" ]; then $sudo apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

ensure_influxd() {
  # With INFLUX_URL the platform uses that server and needs no local binary.
  if [ -n "${INFLUX_URL:-}" ] || command -v "${INFLUXD_PATH:-influxd}" >/dev/null 2>&1; then return; fi
  say "influxd is missing: installing Debian's influxdb package (InfluxDB 1.x)"
  if ! apt_install influxdb; then
    say "influxd is missing. Install InfluxDB 1.x (Debian/Ubuntu: sudo apt-get install -y influxdb),"
    say "or set INFLUX_URL to an InfluxDB server, then run this again."
    exit 1
  fi
}

ensure_openssl() {
  # The quick start's MQTT over TLS (MQTT_TLS=self-signed) makes its development CA with openssl.
  command -v openssl >/dev/null 2>&1 && return
  say "openssl is missing (the quick start's development TLS certificate): installing it"
  apt_install openssl || say "install openssl (sudo apt-get install -y openssl), or start with MQTT_TLS=off"
}

ensure_test_servers() {
  # The tests of the v2 API backend (and npm run bench -- batched-v2) write to VictoriaMetrics, which
  # accepts the InfluxDB v2 write API. The test suite also needs influxd even when INFLUX_URL is set.
  if ! command -v influxd >/dev/null 2>&1; then
    say "influxd is missing (the tests start their own): installing Debian's influxdb package"
    apt_install influxdb || { say "install it: sudo apt-get install -y influxdb"; exit 1; }
  fi
  if ! command -v "${VICTORIA_METRICS_PATH:-victoria-metrics}" >/dev/null 2>&1; then
    say "victoria-metrics is missing (tests of the InfluxDB v2 write path): installing it"
    apt_install victoria-metrics || { say "install it: sudo apt-get install -y victoria-metrics"; exit 1; }
  fi
}

postgres_installed() {
  local bin
  for bin in /usr/lib/postgresql/*/bin/postgres; do
    [ -x "$bin" ] && [ "$(basename "$(dirname "$(dirname "$bin")")")" -ge 15 ] 2>/dev/null && return 0
  done
  return 1
}

ensure_cluster_servers() {
  # Cluster mode (issue 12) and its tests start their own Redis 7 and PostgreSQL 15 from Debian's
  # binaries, on free loopback ports in temp dirs (core/redis/managed.ts, core/postgres/managed.ts).
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  postgres_installed || missing+=(postgresql)
  [ ${#missing[@]} -eq 0 ] && return
  say "installing the servers of cluster mode and its tests: ${missing[*]}"
  apt_install "${missing[@]}" || { say "install them: sudo apt-get install -y ${missing[*]}"; exit 1; }
  # Where service scripts run, the packages start servers of their own (Redis on 6379, PostgreSQL's
  # 'main' cluster on 5432). The platform never uses them: it runs its own on free ports.
  say "note: the services these packages may have started (ports 6379, 5432) are not used by the platform"
}

ensure_test_clients() {
  # The tests also connect with standard clients: mosquitto_pub and Python paho (Debian's python3).
  local missing=()
  command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
  /usr/bin/python3 -c 'import paho.mqtt.client' >/dev/null 2>&1 || missing+=(python3-paho-mqtt)
  [ ${#missing[@]} -eq 0 ] && return
  say "installing the MQTT clients the tests use: ${missing[*]}"
  apt_install "${missing[@]}" ||
    say "the tests that use ${missing[*]} will be skipped: install them (sudo apt-get install -y ${missing[*]})"
}

ensure_chromium() {
  # The console's browser tests and its bench part drive Debian's chromium (playwright-core, no download).
  if [ -x /usr/bin/chromium ]; then return; fi
  say "chromium is missing: installing Debian's chromium (and a CJK font for the Chinese console)"
  apt_install chromium fonts-wqy-microhei ||
    say "chromium is missing: the console's browser tests need it (Debian: sudo apt-get install -y chromium)."
}

ensure_packages() {
  # npm ci when node_modules is missing or older than the lock file.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm packages (better-sqlite3 compiles from source: 2-3 minutes the first time)"
    npm ci --no-audit --no-fund
  fi
}

setup() { ensure_node; ensure_influxd; ensure_openssl; ensure_packages; }

case "${1:-up}" in
  up | start) setup; exec npm start --silent ;;
  # node itself (not through npm): a Ctrl-C reaches the supervisor, which stops everything in order.
  cluster) setup; ensure_cluster_servers; exec node --import tsx main/cluster.ts ;;
  test) setup; ensure_test_servers; ensure_cluster_servers; ensure_test_clients; ensure_chromium; exec npm test ;;
  setup) setup; ensure_test_servers; ensure_cluster_servers; ensure_test_clients; ensure_chromium ;;
  *) say "usage: ./platform.sh [up|cluster|test|setup]"; exit 64 ;;
esac
