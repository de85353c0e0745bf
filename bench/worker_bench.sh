#!/bin/sh
# The worker process: STANDALONE latency from dispatch to SUCCEED recorded
# (p50 / p99) and pj-worker's RSS idle (bench/worker_bench.c).  One
# pj-server on SQLite and one pj-worker in a temporary folder, removed on
# exit.  Prints a markdown table.
#   bench/worker_bench.sh [BUILD]     (N=... instances, default 300)
set -eu
build=$(cd "${1:-build}" && pwd)
work=$(mktemp -d /tmp/pjworkerbench.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM HUP PIPE
"$build/bench/worker_bench" "$build/bin" "$work"
