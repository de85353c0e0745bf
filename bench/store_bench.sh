#!/bin/sh
# Instance lifecycles per second through the store (bench/store_bench.c)
# on SQLite and on a private MariaDB started here (t/mariadb.sh, temporary
# folder, stopped on exit also when a run fails). Prints a markdown table.
#   bench/store_bench.sh [BUILD]     (N=... BATCH=... override the sizes)
set -eu
build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$build/bench/store_bench"
n_single=${N_SINGLE:-20000}
n_batch=${N_BATCH:-200000}
batch=${BATCH:-100}
work=$(mktemp -d /tmp/pjstorebench.XXXXXX)
cleanup() {
	"$top/t/mariadb.sh" stop "$work/mariadb" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM HUP PIPE

set -- $("$top/t/mariadb.sh" start "$work/mariadb")
port=$1
mdb() { mariadb --no-defaults -h127.0.0.1 -P"$port" -uroot -e "$1"; }

run() { # backend mode n -> rate
	case $1 in
	sqlite) url="sqlite://$work/$2.db" ;;
	mysql)
		mdb "DROP DATABASE IF EXISTS b_$2; CREATE DATABASE b_$2"
		url="mysql://root@127.0.0.1:$port/b_$2"
		;;
	esac
	"$bin" "$url" "$2" "$3" "$batch" | awk '{print $4}'
}

# Peer: the database's own command-line client running N autocommitted
# single-row INSERTs into an indexed table (no store code involved), so the
# single-row figures can be read against what the database itself does on
# this machine at this moment.
now() { date +%s.%N; }
raw_sql() {
	i=0
	while [ $i -lt "$n_raw" ]; do
		echo "INSERT INTO t (a, b) VALUES ($i, 'x');"
		i=$((i + 1))
	done
}
n_raw=${N_RAW:-3000}
raw_sql >"$work/raw.sql"
t0=$(now)
{
	echo "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	echo "CREATE TABLE t (id INTEGER PRIMARY KEY, a INT, b TEXT);"
	echo "CREATE INDEX ta ON t (a);"
	cat "$work/raw.sql"
} | sqlite3 "$work/raw.db" >/dev/null
raw_sqlite=$(awk -v a="$t0" -v b="$(now)" -v n="$n_raw" 'BEGIN{printf "%.0f", n/(b-a)}')
mdb "CREATE DATABASE raw; CREATE TABLE raw.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, a BIGINT, b VARCHAR(50), KEY (a))"
t0=$(now)
mariadb --no-defaults -h127.0.0.1 -P"$port" -uroot raw <"$work/raw.sql"
raw_mysql=$(awk -v a="$t0" -v b="$(now)" -v n="$n_raw" 'BEGIN{printf "%.0f", n/(b-a)}')

echo "| backend | single-row lifecycles/s | batched ($batch/call) lifecycles/s | batched/single | goal | goal met |"
echo "|---|---:|---:|---:|---:|---|"
for be in sqlite mysql; do
	s=$(run $be single "$n_single")
	b=$(run $be batch "$n_batch")
	case $be in
	sqlite) goal=20000 name="SQLite (WAL, synchronous=NORMAL)" ;;
	mysql) goal=5000 name="MariaDB 10.11 (TCP, InnoDB defaults)" ;;
	esac
	ratio=$(awk -v a="$b" -v b="$s" 'BEGIN{printf "%.1f", a/b}')
	met=$(awk -v r="$b" -v g="$goal" -v s="$s" 'BEGIN{
		if (s >= g) print "yes (single and batched)";
		else if (r >= g) print "batched only";
		else print "no"}')
	echo "| $name | $s | $b | ${ratio}x | ≥$goal/s | $met |"
done
echo
echo "| peer: the database's own client, autocommitted single-row INSERTs | statements/s |"
echo "|---|---:|"
echo "| sqlite3 CLI (WAL, synchronous=NORMAL) | $raw_sqlite |"
echo "| mariadb CLI (same server) | $raw_mysql |"
echo
echo "Each lifecycle is four store calls: create, WAITING_DISPATCH→WAITING_WORKER_RECEIVE, →RUNNING, →SUCCEED ($n_single single-row lifecycles, $n_batch batched)."
