#!/bin/sh
# Next-fire computations per second: server/timing/cron.c against Quartz 2.3.2
# (Debian's libquartz2-java on the machine's Java) over the same mix of
# expressions and zones (bench/timing_mix.tsv), in the same run.
# Usage: bench/timing_bench.sh BUILD   (prints a markdown table)
set -eu
build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
n=${TIMING_BENCH_N:-200000}
mix="$top/bench/timing_mix.tsv"
jar=/usr/share/java/quartz2.jar
c_out=$("$build/bench/timing_bench" "$mix" "$n")
q_out=""
if [ -r "$jar" ] && command -v javac >/dev/null 2>&1; then
	mkdir -p "$build/bench/java"
	javac -d "$build/bench/java" -cp "$jar" "$top/bench/TimingBench.java"
	q_out=$(java -cp "$jar:$build/bench/java" TimingBench "$mix" "$n")
fi
val() { echo "$1" | awk -v k="$2" '$2 == k { print $3 }'; }
cm=$(val "$c_out" mix); cp=$(val "$c_out" plain); cc=$(val "$c_out" checksum)
qm=$(val "$q_out" mix); qp=$(val "$q_out" plain); qc=$(val "$q_out" checksum)
ratio() { [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }' || echo "n/a"; }
same="n/a"
[ -n "$qc" ] && { [ "$cc" = "$qc" ] && same=yes || same=NO; }
rows=$(grep -vc '^#' "$mix")
echo "| next-fire computations/s ($rows expressions x $n fires) | pj (C) | Quartz 2.3.2 | ratio | goal |"
echo "|---|---:|---:|---:|---|"
echo "| mix of expressions and zones (L, W, #, DST zones) | $cm | ${qm:-n/a} | $(ratio "$cm" "$qm") | >= 5x Quartz |"
echo "| plain expressions (UTC, no L/W/#) | $cp | ${qp:-n/a} | $(ratio "$cp" "$qp") | >= 1,000,000/s |"
echo
echo "Same fire times as Quartz (checksum of every 500th fire); best of 3 passes after a warm-up, each side: $same"
[ "$same" != NO ]
