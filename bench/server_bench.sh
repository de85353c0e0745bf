#!/bin/sh
# The server process: start to ready, RSS idle and with 100 test workers,
# heartbeats per second with 100 workers (bench/server_bench.c).  SQLite in
# a temporary folder, removed on exit.  Prints a markdown table.
#   bench/server_bench.sh [BUILD]     (RUNS=... FLOOD_MS=... override)
set -eu
build=$(cd "${1:-build}" && pwd)
work=$(mktemp -d /tmp/pjserverbench.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM HUP PIPE
"$build/bench/server_bench" "$build/bin" "$build/t" "$work"
