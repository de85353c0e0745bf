#!/bin/sh
# make demo: the real system on its embedded defaults, on 127.0.0.1.
#
#   one pj-server (embedded SQLite store, its OpenAPI gateway) and two
#   pj-worker processes with the example plugins, sharing a cluster key
#   generated for the run; then, through pjctl: an app, a STANDALONE shell
#   job, a BROADCAST job (plugin broadcast_hello), a MAP_REDUCE job
#   (plugin wordcount, with its progress line), a CRON job every 2 s;
#   their states, results and logs; the workers; and the dead letter of a
#   message sent to an actor that does not exist.
#
# Everything it starts is stopped at the end, also on Ctrl-C.  The folder
# is PJ_DEMO_DIR when set (the demo test uses it), else a fresh one.
set -eu
build=${1:-build}
bin="$build/bin"
plugins=$(cd "$build/plugins" && pwd)
tmp=${PJ_DEMO_DIR:-$(mktemp -d /tmp/pjdemo.XXXXXX)}
mkdir -p "$tmp"
pids=""
cleanup() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	pids=""
	[ -n "${PJ_DEMO_DIR:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export AR_LOG=${AR_LOG:-warn}

# waits until file $1 exists and is not empty (10 s)
wait_file() {
	i=0
	while [ ! -s "$1" ]; do
		i=$((i + 1))
		if [ $i -gt 200 ]; then
			echo "demo: $2 did not start; its log:"
			cat "$3"
			exit 1
		fi
		sleep 0.05
	done
}

step() { printf '\n== %s\n' "$*"; }

# the deployment's cluster key (every server, worker and pjctl)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/cluster.key"
chmod 600 "$tmp/cluster.key"
export PJ_CLUSTER_KEY_FILE="$tmp/cluster.key"

step "pj-server: SQLite store in $tmp/server, workers' port and gateway on free ports"
"$bin/pj-server" serve --data-dir "$tmp/server" --listen tcp://127.0.0.1:0 \
	--gateway tcp://127.0.0.1:0 --ready-file "$tmp/server.ready" \
	>"$tmp/server.log" 2>&1 &
pids="$pids $!"
wait_file "$tmp/server.ready" pj-server "$tmp/server.log"
sleep 0.1
server=$(sed -n 1p "$tmp/server.ready")
export PJ_GATEWAY=$(sed -n 2p "$tmp/server.ready")
echo "   server $server, gateway $PJ_GATEWAY"

export PJ_APP=demo PJ_APP_SECRET=demo-secret-$$
step "pjctl app register: the app 'demo' with its secret"
"$bin/pjctl" app register demo

for w in 1 2; do
	"$bin/pj-worker" --app demo --server "$server" --listen tcp://127.0.0.1:0 \
		--data-dir "$tmp/worker$w" --plugin-dir "$plugins" --tag "w$w" \
		--heartbeat-ms 1000 --report-ms 500 --log-flush-ms 200 \
		--ready-file "$tmp/worker$w.ready" >"$tmp/worker$w.log" 2>&1 &
	pids="$pids $!"
done
wait_file "$tmp/worker1.ready" pj-worker "$tmp/worker1.log"
wait_file "$tmp/worker2.ready" pj-worker "$tmp/worker2.log"
sleep 1.2 # a heartbeat from each
step "pjctl worker list: two workers joined with the app's secret"
"$bin/pjctl" worker list

# saves a job (pjctl job save ARGS) and prints its id
save() {
	"$bin/pjctl" job save "$@" | sed -n 's/^job \([0-9][0-9]*\).*/\1/p'
}

# runs job $1 and waits for its end; the instance id in $inst
run_and_wait() {
	inst=$("$bin/pjctl" job run "$1" | sed -n 's/^instance \([0-9][0-9]*\).*/\1/p')
	"$bin/pjctl" instance wait "$inst" --timeout-s 30 || true
	"$bin/pjctl" instance detail "$inst"
}

step "a STANDALONE shell job: the parameters reach the script, its output is the log"
job=$(save --name hello --processor shell \
	--processor-info 'echo "hello $PJ_JOB_PARAMS from $(hostname), pid $$"; echo "instance $PJ_INSTANCE_ID"' \
	--params world)
run_and_wait "$job"
step "its online log (the worker ships lines in batches; any server reads them)"
sleep 0.5
"$bin/pjctl" instance log "$inst"

step "a BROADCAST job (plugin broadcast_hello): one run on each worker"
job=$(save --name hello-all --execute broadcast \
	--processor external --processor-info broadcast_hello --params "file:$tmp/broadcast.txt")
run_and_wait "$job"
echo "   lines the two runs wrote:"
sed 's/^/   /' "$tmp/broadcast.txt"

step "a MAP_REDUCE job (plugin wordcount) over both workers: the words of README.md"
echo "   (each chunk paced to 300 ms: pjctl instance wait shows tasks done/total,"
echo "   one line rewritten in place on a terminal, one line per change otherwise)"
job=$(save --name wordcount --execute map-reduce \
	--processor external --processor-info 'wordcount:chunk=1024,top=5,pace=300' \
	--params "file:$(pwd)/README.md" --concurrency 2)
run_and_wait "$job"

step "a CRON job every 2 s (shell), for about 7 s"
job=$(save --name tick --type cron --expr '0/2 * * * * ?' \
	--processor shell --processor-info 'date +%T')
sleep 7
"$bin/pjctl" job disable "$job"
"$bin/pjctl" instance list --job "$job"

step "a message to an actor that does not exist becomes a dead letter"
"$bin/pj-node" --name probe --peer "pj://pjserver@$server" \
	--tells 0 --asks 0 --run-ms 300 >/dev/null 2>&1 || true
"$bin/pjctl" dead-letters "pj://pjserver@$server"

step "stopping the workers and the server (SIGTERM)"
cleanup
echo "done."
