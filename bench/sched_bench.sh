#!/bin/sh
# The scheduler end to end (bench/sched_bench.c): JOBS CRON jobs of every
# second for SECS seconds on one pj-server with one pj-testworker process
# of WORKERS workers answering SUCCEED; on SQLite (a temporary folder) and,
# when PJ_BENCH_MYSQL_URL (mysql://user@host:port/) is set, on MariaDB.
#   bench/sched_bench.sh [BUILD]     (JOBS=... SECS=... WORKERS=...)
set -eu
build=$(cd "${1:-build}" && pwd)
work=$(mktemp -d /tmp/pjschedbench.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM HUP PIPE
echo "| store | jobs (fires/s) | s | recorded | succeeded | triggers/s | lag p50 ms | lag p99 ms | lag max ms | done p99 ms | server RSS MB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
"$build/bench/sched_bench" "$build/bin" "$build/t" "$work" || true
if [ -n "${PJ_BENCH_MYSQL_URL:-}" ]; then
	db="pjschedbench_$$"
	mysql_url="${PJ_BENCH_MYSQL_URL}${db}"
	hostport=${PJ_BENCH_MYSQL_URL#mysql://*@}
	hostport=${hostport%/}
	mariadb -h "${hostport%:*}" -P "${hostport#*:}" -u root \
	    -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
	mkdir -p "$work/m"
	"$build/bench/sched_bench" "$build/bin" "$build/t" "$work/m" \
	    "$mysql_url" || true
	mariadb -h "${hostport%:*}" -P "${hostport#*:}" -u root \
	    -e "DROP DATABASE IF EXISTS $db"
fi
