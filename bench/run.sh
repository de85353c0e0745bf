#!/bin/sh
# Runs every benchmark script bench/*_bench.sh with the build folder as its
# argument; each prints its own table (markdown), ready for docs/benchmarks.md.
set -u
build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
rc=0
for s in "$top"/bench/*_bench.sh; do
	[ -x "$s" ] || continue
	echo "## $(basename "$s" .sh)  ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
	"$s" "$build" || rc=1
	echo
done
exit $rc
