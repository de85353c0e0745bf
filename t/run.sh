#!/bin/sh
# Runs every test suite in BUILD/t (the binaries named *_test), with the
# services they need: a private MariaDB on a free port, stopped at the end
# also when a suite fails or the run is interrupted.
#
# Environment handed to the suites:
#   PJ_TEST_MYSQL_URL   mysql://root@127.0.0.1:PORT/  (suites pick a database)
#   PJ_TEST_MYSQL_SOCK  the server's unix socket
#   PJ_TEST_MARIADB_DIR the server's folder (t/mariadb.sh restart DIR)
#   PJ_TEST_BIN         BUILD/t, where helper programs live
#   PJ_BIN              BUILD/bin, the real programs
# T=name1,name2 runs only those suites (e.g. T=sched_test t/run.sh build).
# The summary is the last line printed; exit status 1 on any failure.
set -u
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
work=$(mktemp -d /tmp/pjcheck.XXXXXX)
export PJ_TEST_BIN="$build/t" PJ_BIN="$build/bin" PJ_TOP="$top"
export PJ_TEST_MARIADB_DIR="$work/mariadb"
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-20}
export AR_LOG=${AR_LOG:-warn} # suites print failures, not every start/stop
# Leak checks stay on under ASan; UBSan reports abort the test.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# ThreadSanitizer (make check SANITIZE=thread): the first report fails the
# suite; t/tsan.supp names every library frame it hides and why.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$top/t/tsan.supp}

cleanup() {
	"$top/t/mariadb.sh" stop "$PJ_TEST_MARIADB_DIR" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# libmongoc 1.x keeps counters in /dev/shm/mongoc-PID; a process killed
# with SIGKILL leaves its file, and a new process given that pid warns on
# stderr.  Files of processes that no longer exist are garbage.
for f in /dev/shm/mongoc-*; do
	[ -e "$f" ] || continue
	kill -0 "${f##*-}" 2>/dev/null || rm -f "$f"
done

if set -- $("$top/t/mariadb.sh" start "$PJ_TEST_MARIADB_DIR"); then
	export PJ_TEST_MYSQL_URL="mysql://root@127.0.0.1:$1/"
	export PJ_TEST_MYSQL_SOCK="$2"
	echo "services: MariaDB on 127.0.0.1:$1"
else
	echo "services: MariaDB did not start; store suites will fail" >&2
fi

# One suite ($1, a path): its output, exit status and seconds into
# $2/NAME.{out,rc,secs}
one='t0=$(date +%s); n=$(basename "$1"); "$1" >"$2/$n.out" 2>&1;
echo $? >"$2/$n.rc"; echo $(($(date +%s) - t0)) >"$2/$n.secs"'

# The suites to run: all built ones, or those T names.
list=""
for t in "$build"/t/*_test; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	if [ -n "${T:-}" ]; then
		case ",$T," in *",$name,"*) ;; *) continue ;; esac
	fi
	list="$list $name"
done

# J suites at a time (default 2: most of a suite's time is waiting on
# timers and child processes).  Suites that stop or kill the shared MariaDB
# run alone first; the long ones start first so the pool drains evenly.
J=${J:-2}
SERIAL="store_mysql_test"
LONG="sched_failover_multiprocess_test sched_multiprocess_test
worker_exec_multiprocess_test
worker_multiprocess_test gateway_multiprocess_test server_multiprocess_test
frequent_multiprocess_test
logstore_test heavy_tracker_test demo_test runtime_reconnect_test"
start=$(date +%s)
for name in $list; do
	case " $SERIAL " in *" $name "*) sh -c "$one" sh "$build/t/$name" "$work" ;; esac
done
{
	for name in $LONG; do
		case " $list " in *" $name "*) echo "$name" ;; esac
	done
	for name in $list; do
		case " $SERIAL $(echo $LONG) " in *" $name "*) ;; *) echo "$name" ;; esac
	done
} | sed "s|^|$build/t/|" | xargs -P "$J" -I{} sh -c "$one" sh {} "$work"

suites=0
failed=""
checks=0
fails=0
errors=0
for name in $list; do
	suites=$((suites + 1))
	out="$work/$name.out"
	rc=$(cat "$work/$name.rc" 2>/dev/null || echo 99)
	took=$(cat "$work/$name.secs" 2>/dev/null || echo "?")
	# Check prints "100%: Checks: N, Failures: F, Errors: E" per suite
	line=$(grep -E '^[0-9]+%: Checks: ' "$out" 2>/dev/null | tail -1)
	if [ -n "$line" ]; then
		n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
		f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
		e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
		checks=$((checks + n))
		fails=$((fails + f))
		errors=$((errors + e))
	fi
	if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
		failed="$failed $name"
		echo "FAIL $name (exit $rc, ${took}s)"
		# Check's own failure lines first (file:line:F|E:case:test:...),
		# so a long log cut short still shows which check failed and why.
		grep -E '^[^ ]+:[0-9]+:[EF]:' "$out" 2>/dev/null | head -10
		grep -vE '^Running suite' "$out" 2>/dev/null | tail -40
	else
		echo "ok   $name (${took}s): $line"
	fi
done
secs=$(($(date +%s) - start))
cleanup
trap - EXIT INT TERM
if [ -z "$failed" ] && [ $suites -gt 0 ]; then
	echo "make check: PASS: $suites suites, $checks checks, 0 failures, 0 errors in ${secs}s"
	exit 0
fi
echo "make check: FAIL: $suites suites, $checks checks, $fails failures, $errors errors; failed:${failed:- no suites built} (${secs}s)"
exit 1
