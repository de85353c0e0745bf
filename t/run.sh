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

if set -- $("$top/t/mariadb.sh" start "$PJ_TEST_MARIADB_DIR"); then
	export PJ_TEST_MYSQL_URL="mysql://root@127.0.0.1:$1/"
	export PJ_TEST_MYSQL_SOCK="$2"
	echo "services: MariaDB on 127.0.0.1:$1"
else
	echo "services: MariaDB did not start; store suites will fail" >&2
fi

suites=0
failed=""
checks=0
fails=0
errors=0
start=$(date +%s)
for t in "$build"/t/*_test; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	if [ -n "${T:-}" ]; then
		case ",$T," in *",$name,"*) ;; *) continue ;; esac
	fi
	suites=$((suites + 1))
	out="$work/$name.out"
	"$t" >"$out" 2>&1
	rc=$?
	# Check prints "100%: Checks: N, Failures: F, Errors: E" per suite
	line=$(grep -E '^[0-9]+%: Checks: ' "$out" | tail -1)
	if [ -n "$line" ]; then
		n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
		f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
		e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
		checks=$((checks + n))
		fails=$((fails + f))
		errors=$((errors + e))
	fi
	if [ $rc -ne 0 ] || [ -z "$line" ]; then
		failed="$failed $name"
		echo "FAIL $name (exit $rc)"
		grep -vE '^Running suite' "$out" | tail -40
	else
		echo "ok   $name: $line"
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
