#!/bin/sh
# runtime_bench.sh BUILD - the actor runtime against its peers, side by side
# in one run: CAF 0.17.6 (local tell/ask, memory) and raw nng 1.5.2
# (remote tell vs PUSH/PULL, remote ask vs REQ/REP).  Runs only what `make`
# built (BUILD/bench/rt_local, rt_local_caf, rt_remote) and prints markdown
# tables.  Throughput and local ask runs are repeated (RUNS, default 3),
# ours and the peer alternating so both see the same background load, and
# the medians are shown: the 2-core machine is shared and noisy.  Takes
# about a minute (the raw nng PUSH/PULL runs are most of it).
set -eu
build=${1:-build}
b="$build/bench"
RUNS=${RUNS:-3}
TELL_N=${TELL_N:-2000000}
ASK_N=${ASK_N:-20000}
ACTORS_N=${ACTORS_N:-100000}
QUEUED_N=${QUEUED_N:-1000000}
REMOTE_N=${REMOTE_N:-200000}
RASK_N=${RASK_N:-5000}

for p in rt_local rt_local_caf rt_remote; do
	[ -x "$b/$p" ] || { echo "runtime_bench: $b/$p missing (run make)" >&2; exit 1; }
done
export AR_LOG=${AR_LOG:-error}

# pair N OURS MODE PEER MODE: runs ours and the peer alternately RUNS times
# (so both see the same background load); prints "median_ours median_peer"
pair() {
	i=0
	while [ $i -lt "$RUNS" ]; do
		echo "o $("$b/$2" "$3" "$1" 2>/dev/null | tail -1)"
		echo "p $("$b/$4" "$5" "$1" 2>/dev/null | tail -1)"
		i=$((i + 1))
	done | sort -k1,1 -k2g | awk '
		{ v[$1, ++n[$1]] = $2 }
		END { print v["o", int((n["o"] + 1) / 2)], v["p", int((n["p"] + 1) / 2)] }'
}
one() { "$@" 2>/dev/null | tail -1; }
# ratio a/b with 2 decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }
fmt() { awk -v a="$1" 'BEGIN { printf "%.0f", a }'; }

set -- $(pair "$TELL_N" rt_local tell1 rt_local_caf tell1); t1o=$1 t1c=$2
set -- $(pair "$TELL_N" rt_local tell4 rt_local_caf tell4); t4o=$1 t4c=$2
set -- $(pair "$ASK_N" rt_local ask rt_local_caf ask);      ako=$1 akc=$2

echo "### Local (one process): ours vs CAF 0.17.6"
echo
echo "| benchmark | ours | CAF | ours/CAF (speed) | goal |"
echo "|---|---:|---:|---:|---|"
echo "| tell 1 sender -> 1 actor, $(fmt "$TELL_N") msgs (msgs/s) | $(fmt "$t1o") | $(fmt "$t1c") | $(ratio "$t1o" "$t1c") | >= 1.0 |"
echo "| tell 4 senders -> 1 actor, $(fmt "$TELL_N") msgs (msgs/s) | $(fmt "$t4o") | $(fmt "$t4c") | $(ratio "$t4o" "$t4c") | >= 1.0 |"
echo "| ask round trip, $(fmt "$ASK_N") sequential (us) | $ako | $akc | $(ratio "$akc" "$ako") | >= 1.0 |"
echo
echo "Senders: plain threads calling ar_tell (ours), one scoped_actor per thread (CAF)."
echo "Speed ratio for ask is CAF us / ours us. Median of $RUNS runs, ours and CAF alternating."
echo

set -- $(pair "$REMOTE_N" rt_remote tell rt_remote nng); rto=$1 rtn=$2
set -- $(one "$b/rt_remote" ask "$RASK_N");    rao50=$1 rao99=$2
set -- $(one "$b/rt_remote" nngreq "$RASK_N"); ran50=$1 ran99=$2

echo "### Remote (two processes, 127.0.0.1 tcp): ours vs raw nng"
echo
echo "| benchmark | ours | raw nng | ours/nng (speed) | goal |"
echo "|---|---:|---:|---:|---|"
echo "| tell $(fmt "$REMOTE_N") x 100-byte msgs (msgs/s); nng: PUSH/PULL blocking | $(fmt "$rto") | $(fmt "$rtn") | $(ratio "$rto" "$rtn") | >= 3.0 |"
echo "| ask round trip p50, $(fmt "$RASK_N") sequential (us); nng: REQ/REP | $rao50 | $ran50 | $(ratio "$ran50" "$rao50") | ours < 150 us |"
echo "| ask round trip p99 (us) | $rao99 | $ran99 | $(ratio "$ran99" "$rao99") | - |"
echo
echo "Throughput: the sender's first send to the receiver's last receive (CLOCK_MONOTONIC across"
echo "the two processes), median of $RUNS runs, alternating. Ask: one run, after 500 warm-up round trips."
echo

aco=$(one "$b/rt_local" actors "$ACTORS_N"); acc=$(one "$b/rt_local_caf" actors "$ACTORS_N")
qmo=$(one "$b/rt_local" queued "$QUEUED_N"); qmc=$(one "$b/rt_local_caf" queued "$QUEUED_N")
set -- $(one "$b/rt_local" idle);     ido0=$1 ido=$2
set -- $(one "$b/rt_local_caf" idle); idc0=$1 idc=$2

echo "### Memory (VmRSS): ours vs CAF 0.17.6"
echo
echo "| measure | ours | CAF | ours/CAF (size, lower is better) | goal |"
echo "|---|---:|---:|---:|---|"
echo "| bytes per idle actor ($(fmt "$ACTORS_N") spawned) | $aco | $acc | $(ratio "$aco" "$acc") | - |"
echo "| bytes per queued message ($(fmt "$QUEUED_N") in a blocked actor) | $qmo | $qmc | $(ratio "$qmo" "$qmc") | - |"
echo "| RSS of an idle system, whole process (KiB) | $ido | $idc | $(ratio "$ido" "$idc") | ours < 5120 |"
echo "| of which the system itself (KiB, RSS after start - before) | $((ido - ido0)) | $((idc - idc0)) | $(ratio "$((ido - ido0))" "$((idc - idc0))") | - |"
echo
echo "Ours: idle system listening on tcp://127.0.0.1:0, 2 dispatcher + 4 blocking threads, nng's"
echo "threads. CAF: a default actor_system (2 scheduler threads); its 'before' is read before main."
