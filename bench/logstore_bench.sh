#!/bin/sh
# Instance-log ingest and streaming through the log store
# (bench/logstore_bench.c) on SQLite, on a private MariaDB started here
# (t/mariadb.sh, or PJ_BENCH_MYSQL_URL=mysql://user@host:port/ to use
# one), and on MongoDB when PJ_TEST_MONGO_URI is set (the Python stand-in
# of the tests is for correctness, not speed, and is not measured).
# Prints markdown tables.
#   bench/logstore_bench.sh [BUILD]
#   LINES=... BATCH=... STREAM_MB=... STREAM_MB_MYSQL=... override sizes
set -eu
build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$build/bench/logstore_bench"
lines=${LINES:-800000}
batch=${BATCH:-100}
stream_mb=${STREAM_MB:-1024}
stream_mb_mysql=${STREAM_MB_MYSQL:-256}
work=$(mktemp -d /tmp/pjlogbench.XXXXXX)
cleanup() {
	[ -n "${PJ_BENCH_MYSQL_URL:-}" ] ||
		"$top/t/mariadb.sh" stop "$work/mariadb" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM HUP PIPE

if [ -n "${PJ_BENCH_MYSQL_URL:-}" ]; then
	murl=$PJ_BENCH_MYSQL_URL
else
	set -- $("$top/t/mariadb.sh" start "$work/mariadb")
	murl="mysql://root@127.0.0.1:$1/"
fi
mhost=$(echo "$murl" | sed -E 's|mysql://[^@]*@([^:/]*).*|\1|')
mport=$(echo "$murl" | sed -E 's|.*:([0-9]+)/.*|\1|')
muser=$(echo "$murl" | sed -E 's|mysql://([^:@]*).*|\1|')
mdb() { mariadb --no-defaults -h"$mhost" -P"$mport" -u"$muser" -e "$1"; }

sqlurl() { # backend name -> store URL (a fresh database)
	case $1 in
	sqlite) echo "sqlite://$work/$2.db" ;;
	mysql)
		mdb "DROP DATABASE IF EXISTS lb_$2; CREATE DATABASE lb_$2"
		echo "${murl}lb_$2"
		;;
	mongodb) echo "sqlite://$work/$2.db" ;; # the SQL store is unused
	esac
}
logurl() {
	case $1 in
	mongodb) echo "$PJ_TEST_MONGO_URI" ;;
	*) echo sql ;;
	esac
}

backends="sqlite mysql"
[ -n "${PJ_TEST_MONGO_URI:-}" ] && backends="$backends mongodb"

echo "| log store | lines | batch | seconds | lines/s | goal | goal met |"
echo "|---|---:|---:|---:|---:|---:|---|"
for be in $backends; do
	set -- $("$bin" ingest "$(sqlurl "$be" ingest)" "$(logurl "$be")" \
		"$lines" "$batch")
	case $be in
	sqlite) name="SQLite (WAL, synchronous=NORMAL)" goal=200000 ;;
	mysql) name="MariaDB 10.11 (TCP, InnoDB defaults)" goal="" ;;
	mongodb) name="MongoDB ($PJ_TEST_MONGO_URI)" goal="" ;;
	esac
	met=$(awk -v r="$4" -v g="${goal:-0}" 'BEGIN{print (g == 0 ? "-" : (r >= g ? "yes" : "no"))}')
	echo "| $name | $2 | $batch | $3 | $4 | ${goal:+≥$goal/s} | $met |"
done
echo
echo "| log store | log size | lines | seconds | RSS before (KiB) | RSS max while streaming (KiB) | RSS after (KiB) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for be in $backends; do
	mb=$stream_mb
	[ "$be" = sqlite ] || mb=$stream_mb_mysql
	set -- $("$bin" stream "$(sqlurl "$be" stream)" "$(logurl "$be")" "$mb")
	echo "| $be | $2 MiB | $3 | $4 | $5 | $6 | $7 |"
	rm -f "$work"/stream.db*
done
echo
echo "Ingest: 8 threads submit batches of $batch lines (100-byte text, one instance per worker) to one server's log writer, timed until every line is stored. Stream: pj_logstore_stream, 1000 lines a page, of one instance's 1 KiB lines."
