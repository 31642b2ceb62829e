#!/bin/sh
# bench-import.sh: import 100,000 enterprises (1% bad rows) twice with the
# built spotcheck binary, on SQLite and, when BENCH_POSTGRES_URL names a
# server, on PostgreSQL; wall time, the importing process's user and system
# CPU time and peak RSS come from /usr/bin/time -v, with the load average
# after each run. With PostgreSQL on this machine, the CPU time of the
# import's database backends is sampled from /proc as well.
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

# dbcpu DB PID: waits for PID, sampling every 100 ms the CPU time of the
# local PostgreSQL backends serving DB (their process title names it), and
# prints their total in seconds: the database's share of an import.
dbcpu() {
	total=0
	seen=""
	# Until PID has exited (a zombie, not yet waited for, counts as exited).
	while [ "$(awk '{print $3}' "/proc/$2/stat" 2>/dev/null || echo Z)" != Z ]; do
		for p in $(pgrep -f "postgres: .* $1 " || true); do
			t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) || continue
			seen=$(printf '%s\n' "$seen" | grep -v "^$p " || true)
			seen=$(printf '%s\n%s %s' "$seen" "$p" "$t")
		done
		sleep 0.1
	done
	printf '%s\n' "$seen" | awk -v hz="$(getconf CLK_TCK)" 'NF == 2 { s += $2 } END { printf "%.2f", s / hz }'
}

run() { # label, database name or "", then spotcheck import arguments
	label=$1
	db=$2
	shift 2
	/usr/bin/time -v "$BIN" import enterprises "$OUT/enterprises.csv" --progress=false \
		--log-level=error --errors "$OUT/errors-$label.csv" "$@" >"$OUT/$label.out" 2>"$OUT/$label.err" &
	pid=$!
	dbs=-
	if [ -n "$db" ]; then
		dbs=$(dbcpu "$db" "$pid")
	fi
	wait "$pid"
	printf '%-18s %s | wall %s | user %s s | sys %s s | max RSS %s KiB | database CPU %s s | load %s | errors file %s lines\n' "$label" \
		"$(head -1 "$OUT/$label.out")" \
		"$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$OUT/$label.err")" \
		"$(sed -n 's/.*User time (seconds): //p' "$OUT/$label.err")" \
		"$(sed -n 's/.*System time (seconds): //p' "$OUT/$label.err")" \
		"$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$OUT/$label.err")" \
		"$dbs" "$(cut -d' ' -f1-3 /proc/loadavg)" \
		"$(wc -l <"$OUT/errors-$label.csv")"
}

for d in $DIALECTS; do
	case $d in
	sqlite)
		rm -rf "$OUT/data"
		"$BIN" migrate --log-level=error --data-dir "$OUT/data" >/dev/null
		run sqlite-first "" --data-dir "$OUT/data"
		run sqlite-second "" --data-dir "$OUT/data"
		;;
	postgres)
		[ -n "${BENCH_POSTGRES_URL:-}" ] || continue
		psql "$BENCH_POSTGRES_URL/postgres" -qc "DROP DATABASE IF EXISTS $BENCH_DB" -c "CREATE DATABASE $BENCH_DB"
		"$BIN" migrate --log-level=error --data-dir "$OUT/data" --database-url "$BENCH_POSTGRES_URL/$BENCH_DB?sslmode=disable" >/dev/null
		run postgres-first "$BENCH_DB" --data-dir "$OUT/data" --database-url "$BENCH_POSTGRES_URL/$BENCH_DB?sslmode=disable"
		run postgres-second "$BENCH_DB" --data-dir "$OUT/data" --database-url "$BENCH_POSTGRES_URL/$BENCH_DB?sslmode=disable"
		psql "$BENCH_POSTGRES_URL/postgres" -qc "DROP DATABASE $BENCH_DB"
		;;
	esac
done
