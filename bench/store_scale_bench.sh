#!/bin/sh
# What the store's read queries cost as instance_info grows (issue 8):
# bench/store_scale.c on SQLite and on a private MariaDB started here
# (t/mariadb.sh with a 2 GiB buffer pool, temporary folder under /tmp,
# stopped and deleted on exit, also when a run fails). Prints a markdown
# table: each query's median (and max) time in ms over 21 runs at each size.
#   bench/store_scale_bench.sh [BUILD]
#   SIZES="1000000 10000000" bench/store_scale_bench.sh build   (10M: 15-25 min,
#       ~6 GB under /tmp at the peak)
#   PLANS=1 ...  also prints each query's plan at each size
# Default (make bench): SIZES=1000000.
set -eu
build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$build/bench/store_scale"
sizes=${SIZES:-1000000}
plans=
[ "${PLANS:-0}" = 1 ] && plans=--plans
work=$(mktemp -d "${TMPDIR:-/tmp}/pjscale.XXXXXX")
cleanup() {
	"$top/t/mariadb.sh" stop "$work/mariadb" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM HUP PIPE

set -- $(PJ_MARIADB_ARGS="--innodb-buffer-pool-size=${POOL:-2G}" \
	"$top/t/mariadb.sh" start "$work/mariadb")
port=$1
mdb() { mariadb --no-defaults -h127.0.0.1 -P"$port" -uroot -e "$1"; }

"$bin" "sqlite://$work/scale.db?pool=1" $sizes $plans >"$work/sqlite.out"
rm -f "$work"/scale.db*
mdb "CREATE DATABASE scale"
"$bin" "mysql://root@127.0.0.1:$port/scale?pool=1" $sizes $plans >"$work/mysql.out"
mdb "DROP DATABASE scale"

if [ -n "$plans" ]; then
	for be in sqlite mysql; do
		echo "Plans ($be):"
		echo '```'
		grep -e '^#' -e '^[0-9]' "$work/$be.out" | awk -F'\t' '/^#/ {print; next} {print "-- " $1 " rows: " $2}'
		echo '```'
	done
	echo
fi

# one row per query, one column per backend and size: "median (max)"
grep -h -v '^#' "$work/sqlite.out" | sed 's/^/sqlite\t/' >"$work/all.tsv"
grep -h -v '^#' "$work/mysql.out" | sed 's/^/mysql\t/' >>"$work/all.tsv"
awk -F'\t' -v sizes="$sizes" '
function human(n) { return n >= 1000000 ? n / 1000000 "M" : n / 1000 "k" }
{
	key = $1 SUBSEP $2 SUBSEP $3
	if (!($3 in seen)) { seen[$3] = 1; order[++nq] = $3 }
	cell[key] = ($5 == "-") ? $4 : sprintf("%s (%s)", $4, $5)
	if ($6 != "-") rows[$3] = $6
}
END {
	ns = split(sizes, sz, " ")
	hdr = "| query | rows"; sep = "|---|---:"
	for (b = 1; b <= 2; b++)
		for (i = 1; i <= ns; i++) {
			hdr = hdr " | " (b == 1 ? "SQLite" : "MariaDB") " " human(sz[i])
			sep = sep "|---:"
		}
	print hdr " |"; print sep "|"
	for (q = 1; q <= nq; q++) {
		line = "| " order[q] " | " (order[q] in rows ? rows[order[q]] : "-")
		for (b = 1; b <= 2; b++)
			for (i = 1; i <= ns; i++) {
				k = (b == 1 ? "sqlite" : "mysql") SUBSEP sz[i] SUBSEP order[q]
				line = line " | " (k in cell ? cell[k] : "-")
			}
		print line " |"
	}
}' "$work/all.tsv"
echo
echo "ms: median (max) of 21 runs, each with another job or app; rows = rows returned. 1,000 jobs in 10 apps; the newest 1,000 instances RUNNING, the rest SUCCEED; sizes: $sizes rows. MariaDB: --innodb-buffer-pool-size=${POOL:-2G}; SQLite: the store's defaults (16 MiB page cache per connection)."
for be in sqlite mysql; do grep -h "^# filled" "$work/$be.out" | sed "s/^# /$be: /"; done
