#!/bin/sh
# bench-import.sh: import 100,000 enterprises (1% bad rows) twice with the
# built spotcheck binary, on SQLite and, when BENCH_POSTGRES_URL names a
# server, on PostgreSQL; wall time, the importing process's user and system
# CPU time and peak RSS come from /usr/bin/time -v, with the load average
# after each run.
#
#   scripts/bench-import.sh
#   BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432 scripts/bench-import.sh
#
# Options (environment): ROWS (100000), OUT (bench-out/import), DIALECTS
# ("sqlite postgres"), BENCH_DB (the scratch PostgreSQL database, created and
# dropped, bench_import), BIN (a spotcheck binary to run instead of building
# one: to compare builds on the same file), KEEP_CSV=1 (reuse OUT's file).
set -eu
ROWS=${ROWS:-100000}
OUT=${OUT:-bench-out/import}
DIALECTS=${DIALECTS:-sqlite postgres}
BENCH_DB=${BENCH_DB:-bench_import}
mkdir -p "$OUT"
if [ -z "${BIN:-}" ]; then
	BIN=$OUT/spotcheck
	go build -o "$BIN" ./server/cmd/spotcheck
fi
if [ "${KEEP_CSV:-}" != 1 ] || [ ! -s "$OUT/enterprises.csv" ]; then
	go run ./scripts/gen-enterprises -rows "$ROWS" -bad-every 100 > "$OUT/enterprises.csv"
fi
ls -l "$OUT/enterprises.csv"

run() { # label, then spotcheck import arguments
	label=$1
	shift
	/usr/bin/time -v "$BIN" import enterprises "$OUT/enterprises.csv" --progress=false \
		--log-level=error --errors "$OUT/errors-$label.csv" "$@" >"$OUT/$label.out" 2>"$OUT/$label.err"
	printf '%-18s %s | wall %s | user %s s | sys %s s | max RSS %s KiB | load %s | errors file %s lines\n' "$label" \
		"$(head -1 "$OUT/$label.out")" \
		"$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$OUT/$label.err")" \
		"$(sed -n 's/.*User time (seconds): //p' "$OUT/$label.err")" \
		"$(sed -n 's/.*System time (seconds): //p' "$OUT/$label.err")" \
		"$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$OUT/$label.err")" \
		"$(cut -d' ' -f1-3 /proc/loadavg)" \
		"$(wc -l <"$OUT/errors-$label.csv")"
}

for d in $DIALECTS; do
	case $d in
	sqlite)
		rm -rf "$OUT/data"
		"$BIN" migrate --log-level=error --data-dir "$OUT/data" >/dev/null
		run sqlite-first --data-dir "$OUT/data"
		run sqlite-second --data-dir "$OUT/data"
		;;
	postgres)
		[ -n "${BENCH_POSTGRES_URL:-}" ] || continue
		psql "$BENCH_POSTGRES_URL/postgres" -qc "DROP DATABASE IF EXISTS $BENCH_DB" -c "CREATE DATABASE $BENCH_DB"
		"$BIN" migrate --log-level=error --data-dir "$OUT/data" --database-url "$BENCH_POSTGRES_URL/$BENCH_DB?sslmode=disable" >/dev/null
		run postgres-first --data-dir "$OUT/data" --database-url "$BENCH_POSTGRES_URL/$BENCH_DB?sslmode=disable"
		run postgres-second --data-dir "$OUT/data" --database-url "$BENCH_POSTGRES_URL/$BENCH_DB?sslmode=disable"
		psql "$BENCH_POSTGRES_URL/postgres" -qc "DROP DATABASE $BENCH_DB"
		;;
	esac
done
