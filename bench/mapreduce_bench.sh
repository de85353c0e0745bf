#!/bin/sh
# One MAP_REDUCE instance of N no-op sub-tasks (verify MR) over two worker
# processes through the heavy TaskTracker and the ProcessorTrackers
# (bench/mapreduce_bench.c): time to the final report and RSS while the
# TaskTracker holds the tasks, with the task store in memory and in a file.
#   bench/mapreduce_bench.sh [BUILD]     (N=1000000 THREADS=4)
set -u
build=$(cd "${1:-build}" && pwd)
n=${N:-1000000}
threads=${THREADS:-4}
export AR_LOG=${AR_LOG:-warn}
rc=0
for store in mem file; do
	out=$("$build/bench/mapreduce_bench" "$n" "$threads" "$store") || rc=1
	if [ "$store" = mem ]; then
		echo "$out" | grep '^|'
	else
		echo "$out" | grep '^| [0-9]'
	fi
	echo "$out" | grep '^result:' >&2
done
exit $rc
