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
#                     URL batch N 100, N=STORE_N default 100000) right
#                     after each of this build's runs on the same backend
#                     (sched, store, sched, store ... with ROUNDS=N rounds,
#                     default 1), then each pair's ratio triggers/s over
#                     lifecycles/s (issue 10: >= 0.5)
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
pairs=""
store_rate() { # sqlite|mysql -> batched lifecycles/s
	n=$((n + 1))
	if [ "$1" = sqlite ]; then
		"$build/bench/store_bench" "sqlite://$work/store$n.db" batch \
		    "${STORE_N:-100000}" 100 | awk '{ print $4 }' | tail -1
		rm -f "$work/store$n.db"*
	else
		db="pjstorebench_$$_$n"
		mdb "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
		"$build/bench/store_bench" "${PJ_BENCH_MYSQL_URL}$db" batch \
		    "${STORE_N:-100000}" 100 | awk '{ print $4 }' | tail -1
		mdb "DROP DATABASE IF EXISTS $db"
	fi
}
one() { # BUILD LABEL sqlite|mysql: one row; STORE=1: the store's rate next
	n=$((n + 1)); mkdir -p "$work/$n"
	if [ "$3" = sqlite ]; then
		row=$(LABEL="$2" "$build/bench/sched_bench" "$1/bin" "$1/t" \
		    "$work/$n") || true
	else
		db="pjschedbench_$$_$n"
		mdb "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
		row=$(LABEL="$2" "$build/bench/sched_bench" "$1/bin" "$1/t" \
		    "$work/$n" "${PJ_BENCH_MYSQL_URL}$db") || true
		mdb "DROP DATABASE IF EXISTS $db"
	fi
	rm -rf "$work/$n"
	echo "$row"
	if [ "${STORE:-0}" = 1 ] && [ -z "$2" ]; then
		tps=$(echo "$row" | awk -F'|' '{ gsub(/ /, "", $7); print $7 }')
		pairs="$pairs $3 ${tps:--} $(store_rate "$3")"
	fi
}
run() { # BUILD LABEL
	if [ "${SQLITE:-1}" = 1 ]; then
		one "$1" "$2" sqlite
	fi
	if [ "${MYSQL:-1}" = 1 ]; then
		one "$1" "$2" mysql
	fi
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| store | jobs (fires/s) | s | recorded | succeeded | triggers/s | lag p50 ms | lag p99 ms | lag max ms | done p99 ms | server RSS MB | RSS peak MB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
r=0
while [ $r -lt "${ROUNDS:-1}" ]; do
	r=$((r + 1))
	run "$build" ""
	if [ -n "${BASE:-}" ]; then
		run "$(cd "$BASE" && pwd)" base
	fi
done
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
if [ -n "$pairs" ]; then
	echo
	echo "| store | triggers/s | store_bench batched (100/call) lifecycles/s, ${STORE_N:-100000}, right after | ratio |"
	echo "|---|---|---|---|"
	set -- $pairs
	while [ $# -ge 3 ]; do
		echo "$1 $2 $3" | awk '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, ($2 + 0 > 0 && $3 + 0 > 0) ? sprintf("%.2f", $2 / $3) : "-" }'
		shift 3
	done
fi
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
