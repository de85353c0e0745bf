#!/bin/sh
# Batched lifecycles through the store (bench/store_bench.c), two or more
# builds interleaved on the same machine in the same minutes, so that a
# change's write cost is read as a ratio and not against a figure taken
# on another day (this machine's load moves single runs by +-20 %).
#   bench/store_bench_ab.sh BUILD_A BUILD_B [BUILD_C ...]
#   ROUNDS=5 N_SQLITE=50000 N_MYSQL=30000 BATCH=100 (the defaults)
# Each round runs every build once on SQLite (a new file) and once on one
# private MariaDB (t/mariadb.sh; a new database each run), in turn. For
# each build and backend it prints the median rate (lifecycles/s) and the
# median CPU seconds per run: the bench process (user + sys) for SQLite,
# the MariaDB server (user + sys from /proc) for MariaDB, where the
# client mostly waits. A build is a folder with bench/store_bench; its
# schema is its own (each database is migrated by the binary that uses it).
set -eu
[ $# -ge 2 ] || { echo "usage: $0 BUILD_A BUILD_B [BUILD ...]" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
rounds=${ROUNDS:-5}
n_sqlite=${N_SQLITE:-50000}
n_mysql=${N_MYSQL:-30000}
batch=${BATCH:-100}
work=$(mktemp -d "${TMPDIR:-/tmp}/pjstoreab.XXXXXX")
cleanup() {
	"$top/t/mariadb.sh" stop "$work/mariadb" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM HUP PIPE

builds= # the builds, as absolute paths
for b in "$@"; do builds="$builds $(cd "$b" && pwd)"; done
port=$("$top/t/mariadb.sh" start "$work/mariadb" | awk '{print $1}')
spid=$(cat "$work/mariadb/pid")
mdb() { mariadb --no-defaults -h127.0.0.1 -P"$port" -uroot -e "$1"; }
# utime + stime of a process, in seconds
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / hz}' "/proc/$1/stat"; }

r=0
while [ "$r" -lt "$rounds" ]; do
	r=$((r + 1))
	k=0
	for b in $builds; do
		k=$((k + 1))
		rm -f "$work"/s.db*
		# rate, then the bench's own CPU (bash-free: /usr/bin/time -f)
		out=$( { /usr/bin/time -f "%U %S" "$b/bench/store_bench" \
			"sqlite://$work/s.db" batch "$n_sqlite" "$batch"; } 2>&1)
		rate=$(echo "$out" | awk 'NF >= 4 && $4 ~ /^[0-9.]+$/ {print $4; exit}')
		cpu=$(echo "$out" | awk 'NF == 2 && $1 ~ /^[0-9.]+$/ {printf "%.3f", $1 + $2}')
		echo "sqlite $k $rate $cpu" >>"$work/res"
		mdb "DROP DATABASE IF EXISTS ab; CREATE DATABASE ab"
		c0=$(cpu_of "$spid")
		rate=$("$b/bench/store_bench" "mysql://root@127.0.0.1:$port/ab" \
			batch "$n_mysql" "$batch" | awk '{print $4}')
		c1=$(cpu_of "$spid")
		echo "mysql $k $rate $(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.3f", b - a}')" >>"$work/res"
	done
	echo "round $r of $rounds done" >&2
done

echo "| build | SQLite lifecycles/s | SQLite CPU s/run | MariaDB lifecycles/s | MariaDB server CPU s/run |"
echo "|---|---:|---:|---:|---:|"
k=0
for b in $builds; do
	k=$((k + 1))
	line="| $b"
	for be in sqlite mysql; do
		for col in 3 4; do
			m=$(awk -v be="$be" -v k="$k" -v c="$col" '$1 == be && $2 == k {print $c}' "$work/res" |
				sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
			all=$(awk -v be="$be" -v k="$k" -v c="$col" '$1 == be && $2 == k {printf "%s%s", sep, $c; sep = ","}' "$work/res")
			line="$line | $m ($all)"
		done
	done
	echo "$line |"
done
echo
echo "median (every run, in order) of $rounds rounds; SQLite $n_sqlite and MariaDB $n_mysql batched lifecycles ($batch per call: create + three transitions) per run; builds interleaved within each round."
