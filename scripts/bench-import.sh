#!/bin/sh
# bench-import.sh: import 100,000 enterprises (1% bad rows) twice with the
# built spotcheck binary, on SQLite and, when BENCH_POSTGRES_URL names a
# server, on PostgreSQL; wall time, the importing process's user CPU time
# and peak RSS come from /usr/bin/time -v, with the load average after each run.
#
#   scripts/bench-import.sh
#   BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432 scripts/bench-import.sh
#
# The PostgreSQL run creates the database bench_import and drops it after.
set -eu
ROWS=${ROWS:-100000}
OUT=${OUT:-bench-out/import}
mkdir -p "$OUT"
go build -o "$OUT/spotcheck" ./server/cmd/spotcheck
go run ./scripts/gen-enterprises -rows "$ROWS" -bad-every 100 > "$OUT/enterprises.csv"
ls -l "$OUT/enterprises.csv"

run() { # label, then spotcheck import arguments
	label=$1
	shift
	/usr/bin/time -v "$OUT/spotcheck" import enterprises "$OUT/enterprises.csv" --progress=false \
		--log-level=error --errors "$OUT/errors-$label.csv" "$@" >"$OUT/$label.out" 2>"$OUT/$label.err"
	printf '%-18s %s | wall %s | user %s s | max RSS %s KiB | load %s\n' "$label" \
		"$(head -1 "$OUT/$label.out")" \
		"$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$OUT/$label.err")" \
		"$(sed -n 's/.*User time (seconds): //p' "$OUT/$label.err")" \
		"$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$OUT/$label.err")" \
		"$(cut -d' ' -f1-3 /proc/loadavg)"
}

rm -rf "$OUT/data"
run sqlite-first --data-dir "$OUT/data"
run sqlite-second --data-dir "$OUT/data"

if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
	psql "$BENCH_POSTGRES_URL/postgres" -qc 'DROP DATABASE IF EXISTS bench_import' -c 'CREATE DATABASE bench_import'
	run postgres-first --data-dir "$OUT/data" --database-url "$BENCH_POSTGRES_URL/bench_import?sslmode=disable"
	run postgres-second --data-dir "$OUT/data" --database-url "$BENCH_POSTGRES_URL/bench_import?sslmode=disable"
	psql "$BENCH_POSTGRES_URL/postgres" -qc 'DROP DATABASE bench_import'
fi
