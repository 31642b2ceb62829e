#!/usr/bin/env bash
# bench-sync-compare.sh: one device-day (20 packets, 40 signatures, 100
# photos, ~1,260 mutations) synced by spotcheck and by PouchDB → pouchdb-server
# (CouchDB replication) on the same bytes, A/B interleaved; prints one table
# of medians. See docs/benchmarks.md, "Against CouchDB replication".
#
#   scripts/bench-sync-compare.sh                         # clean loopback, SQLite and PostgreSQL
#   LINK=throttled scripts/bench-sync-compare.sh          # 1 Mbit/s up, 150 ms RTT (4–7 min a run)
#   LINK=throttled RESET_EVERY=30s scripts/bench-sync-compare.sh
#   PACKETS=4 PHOTOS=20 ROUNDS=1 scripts/bench-sync-compare.sh   # a scaled-down day, to check the setup
#
# Settings: ROUNDS (3), DIALECTS ("sqlite postgres"), BATCHES (PouchDB
# batch_size values, "100 1"), LINK (loopback | throttled: BenchmarkDeviceDay's
# link, 1 Mbit/s up and 150 ms RTT, for both systems), RESET_EVERY (a Go
# duration, 0 = never), TIMEOUT (s a PouchDB run may take, 900), PACKETS
# and PHOTOS (20 and 100), SPOTCHECK_TEST_POSTGRES_DSN
# (postgres://postgres@127.0.0.1:5432/test?sslmode=disable).
#
# Needs Node.js ≥ 18 and npm: pouchdb-server and pouchdb are installed from
# the npm registry into bench-out/pouchdb/ on the first run. Nothing here is
# part of .ci/run or go test ./...
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

POUCHDB_SERVER_VERSION=4.2.0
POUCHDB_VERSION=9.0.0
export OUT=${OUT:-bench-out/sync-compare}
PREFIX=bench-out/pouchdb
mkdir -p "$OUT" "$PREFIX"
OUT=$(cd "$OUT" && pwd)
PREFIX=$(cd "$PREFIX" && pwd)

# 1. pouchdb-server and pouchdb, once.
installed() { node -p "require('$PREFIX/node_modules/$1/package.json').version" 2>/dev/null || true; }
if [ "$(installed pouchdb-server)" != "$POUCHDB_SERVER_VERSION" ] || [ "$(installed pouchdb)" != "$POUCHDB_VERSION" ]; then
	echo "installing pouchdb-server@$POUCHDB_SERVER_VERSION and pouchdb@$POUCHDB_VERSION into $PREFIX"
	[ -f "$PREFIX/package.json" ] || echo '{"name":"spotcheck-pouchdb-bench","private":true}' >"$PREFIX/package.json"
	npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error \
		"pouchdb-server@$POUCHDB_SERVER_VERSION" "pouchdb@$POUCHDB_VERSION"
fi
export NODE_PATH="$PREFIX/node_modules" POUCH_MODULES="$PREFIX/node_modules"
# npm may skip install scripts; LevelDB must load from its prebuilt binaries
# on both sides (the client's leveldown and pouchdb-server's).
node -e '
const path = require("path");
require(path.join(process.env.POUCH_MODULES, "leveldown"));
require(require.resolve("leveldown", { paths: [path.dirname(require.resolve("pouchdb-adapter-leveldb", { paths: [path.join(process.env.POUCH_MODULES, "pouchdb-server")] }))] }));
' || { echo "leveldown does not load: rebuild it with npm rebuild leveldown --prefix $PREFIX" >&2; exit 1; }

# 2. The Go side: the device-day benchmarks and the link simulator.
export TEST_BIN="$OUT/synctest.test" LINKPROXY_BIN="$OUT/linkproxy"
go test -c -o "$TEST_BIN" ./internal/synctest
go build -o "$LINKPROXY_BIN" ./internal/faultnet/cmd/linkproxy
export PG_DSN=${SPOTCHECK_TEST_POSTGRES_DSN:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
GO_FLAGS=""
[ -n "${PACKETS:-}" ] && GO_FLAGS="$GO_FLAGS -deviceday.packets $PACKETS"
[ -n "${PHOTOS:-}" ] && GO_FLAGS="$GO_FLAGS -deviceday.photos $PHOTOS"
export GO_FLAGS

# 3. The day, written once by the loopback benchmark's own device (SQLite
# server) before its evening sync: attachments and outbox as the device holds them.
"$TEST_BIN" -test.run '^$' -test.bench '^BenchmarkDeviceDayLoopback$/^sqlite$' -test.benchtime 1x \
	-deviceday.export "$OUT/day" $GO_FLAGS | grep '^exported'

# 4. Both systems, interleaved.
exec node scripts/pouchdb-bench/compare.js
