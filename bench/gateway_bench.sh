#!/bin/sh
# The OpenAPI gateway against raw nng REQ/REP echo (bench/gateway_bench.c):
# requests per second and p50 / p99 with 1, 8 and 32 clients for fetch-job
# and run-job; then fetch-job with app name + secret (right, wrong, a new
# wrong secret each request: the auth cache and its failure limit).  Starts
# one pj-server on SQLite in a temporary folder, a test worker (so runs are
# dispatched and answered) and one API job; stops them and removes the
# folder on exit.  Prints two markdown tables.
#   bench/gateway_bench.sh [BUILD] [SECONDS per cell, default 2]
set -eu
build=$(cd "${1:-build}" && pwd)
secs=${2:-2}
work=$(mktemp -d /tmp/pjgwbench.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM HUP PIPE
PJ_APP_SECRET=benchpw "$build/bin/pj-server" app-create \
	--db "sqlite://$work/pj.db" bench >/dev/null
"$build/bin/pj-server" serve --listen tcp://127.0.0.1:0 \
	--gateway tcp://127.0.0.1:0 --db "sqlite://$work/pj.db?pool=8" \
	--ready-file "$work/ready" --log-level error \
	--check-interval-ms 3600000 >"$work/server.log" 2>&1 &
pids="$!"
i=0
while [ ! -s "$work/ready" ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i + 1)); done
self=$(sed -n 1p "$work/ready")
export PJ_GATEWAY=$(sed -n 2p "$work/ready") PJ_APP=bench PJ_APP_SECRET=benchpw
"$build/t/pj-testworker" --server "$self" --app bench --secret benchpw \
	--quiet >"$work/worker.log" 2>&1 &
pids="$pids $!"
job=$("$build/bin/pjctl" job save --name bench --processor-info echo |
	awk '{print $2}')
token=$("$build/bin/pjctl" app auth | awk '/^token/ {print $2}')
i=0
until "$build/bin/pjctl" worker list 2>/dev/null | grep -q testworker; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "no worker" >&2; exit 1; }
	sleep 0.1
done
echo "gateway $PJ_GATEWAY, job $job, ${secs} s per cell, $(nproc) cores"
"$build/bench/gateway_bench" "$PJ_GATEWAY" "$token" "$job" "$secs" \
	bench benchpw
