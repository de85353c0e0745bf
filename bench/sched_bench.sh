#!/bin/sh
# The scheduler end to end (bench/sched_bench.c): JOBS CRON jobs of every
# second for SECS seconds on one pj-server with one pj-testworker process
# of WORKERS workers answering SUCCEED; on SQLite (a temporary folder) and
# on MariaDB (PJ_BENCH_MYSQL_URL=mysql://root@host:port/, else a private
# one started here with t/mariadb.sh and stopped on exit).
#   bench/sched_bench.sh [BUILD]     (JOBS=... SECS=... WORKERS=...)
# In the same run, on request:
#   BASE=OTHER_BUILD  that build's pj-server too, each store side by side
#                     (rows labelled "base")
#   QUARTZ=1          Quartz 2.3.2's clustered JDBC store on the same
#                     MariaDB, the same JOBS x SECS CRON load, no-op jobs
#                     (bench/QuartzBench.java): stock (10 threads, batch
#                     acquisition 1) and tuned (QUARTZ_TUNED="THREADS
#                     BATCH ...", pairs, default "25 50")
#   STORE=1           the store's batched lifecycle rate (store_bench
#                     URL batch N 100, N=STORE_N default 100000) on both
# SQLITE=0 / MYSQL=0 leave a backend out.
set -eu
build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/pjschedbench.XXXXXX)
mdir=""
cleanup() {
	[ -z "$mdir" ] || "$top/t/mariadb.sh" stop "$mdir" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM HUP PIPE
if [ "${MYSQL:-1}" = 1 ] && [ -z "${PJ_BENCH_MYSQL_URL:-}" ]; then
	mdir="$work/mariadb"
	set -- $("$top/t/mariadb.sh" start "$mdir")
	PJ_BENCH_MYSQL_URL="mysql://root@127.0.0.1:$1/"
fi
hostport=${PJ_BENCH_MYSQL_URL:-mysql://root@x:0/}
hostport=${hostport#mysql://*@}
hostport=${hostport%/}
mhost=${hostport%:*}
mport=${hostport#*:}
mdb() { mariadb --no-defaults -h "$mhost" -P "$mport" -u root -e "$1"; }
n=0
run() { # BUILD LABEL
	if [ "${SQLITE:-1}" = 1 ]; then
		n=$((n + 1)); mkdir -p "$work/$n"
		LABEL="$2" "$build/bench/sched_bench" "$1/bin" "$1/t" "$work/$n" || true
	fi
	if [ "${MYSQL:-1}" = 1 ]; then
		n=$((n + 1)); mkdir -p "$work/$n"
		db="pjschedbench_$$_$n"
		mdb "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
		LABEL="$2" "$build/bench/sched_bench" "$1/bin" "$1/t" "$work/$n" \
		    "${PJ_BENCH_MYSQL_URL}$db" || true
		mdb "DROP DATABASE IF EXISTS $db"
	fi
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| store | jobs (fires/s) | s | recorded | succeeded | triggers/s | lag p50 ms | lag p99 ms | lag max ms | done p99 ms | server RSS MB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
run "$build" ""
if [ -n "${BASE:-}" ]; then
	run "$(cd "$BASE" && pwd)" base
fi
if [ "${QUARTZ:-0}" = 1 ] && [ "${MYSQL:-1}" = 1 ]; then
	j=/usr/share/java
	cp="$j/quartz2.jar:$j/mariadb-java-client.jar:$j/HikariCP.jar"
	cp="$cp:$j/slf4j-api.jar:$j/slf4j-nop.jar"
	mkdir -p "$build/bench/java"
	javac -d "$build/bench/java" -cp "$cp" "$top/bench/QuartzBench.java"
	echo
	echo "| Quartz 2.3.2 (clustered JDBC, MariaDB) | threads | batch acquisition | fires asked | fired | fired within the run | triggers/s | lag p50 ms | lag p99 ms | lag max ms |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	set -- 10 1 ${QUARTZ_TUNED:-25 50}
	while [ $# -ge 2 ]; do
		n=$((n + 1))
		db="pjquartzbench_$$_$n"
		mdb "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
		java -Xmx512m -cp "$cp:$build/bench/java" QuartzBench \
		    "jdbc:mariadb://$mhost:$mport/$db?user=root" \
		    "${JOBS:-1000}" "${SECS:-20}" "$1" "$2" |
		    awk -v s="$([ "$1" = 10 ] && [ "$2" = 1 ] && echo stock || echo tuned)" \
		    '$1 == "quartz" { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s, $2, $3, $4, $5, $6, $7, $8, $9, $10 }' || true
		mdb "DROP DATABASE IF EXISTS $db"
		shift 2
	done
fi
if [ "${STORE:-0}" = 1 ]; then
	sn=${STORE_N:-100000}
	echo
	echo "| store_bench, batched (100/call) lifecycles/s, $sn | rate |"
	echo "|---|---|"
	if [ "${SQLITE:-1}" = 1 ]; then
		r=$("$build/bench/store_bench" "sqlite://$work/store.db" batch "$sn" 100 | awk "{ print \$4 }" | tail -1)
		echo "| SQLite | $r |"
	fi
	if [ "${MYSQL:-1}" = 1 ]; then
		db="pjstorebench_$$"
		mdb "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
		r=$("$build/bench/store_bench" "${PJ_BENCH_MYSQL_URL}$db" batch "$sn" 100 | awk "{ print \$4 }" | tail -1)
		mdb "DROP DATABASE IF EXISTS $db"
		echo "| MariaDB | $r |"
	fi
fi
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
