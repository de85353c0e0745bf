#!/bin/sh
# make demo: runs the system on its embedded defaults.  At this stage the
# system is the actor runtime: two nodes in two processes exchange tells
# and asks over tcp, one message goes to an actor that does not exist, and
# pjctl asks the receiving node's AdminActor what it recorded.
set -eu
build=${1:-build}
bin="$build/bin"
tmp=$(mktemp -d /tmp/pjdemo.XXXXXX)
alpha=""
cleanup() {
	[ -n "$alpha" ] && kill "$alpha" 2>/dev/null && wait "$alpha" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
export AR_LOG=${AR_LOG:-warn}

echo "== starting node 'alpha' (its own process) on 127.0.0.1, a free port"
"$bin/pj-node" --name alpha --port-file "$tmp/alpha.port" >"$tmp/alpha.out" 2>&1 &
alpha=$!
i=0
while [ ! -s "$tmp/alpha.port" ]; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "alpha did not start:"; cat "$tmp/alpha.out"; exit 1; }
	sleep 0.05
done
addr="pj://alpha@127.0.0.1:$(cat "$tmp/alpha.port")"
echo "   alpha is $addr"
echo
echo "== node 'beta' (a second process) tells alpha 10000 messages, asks it 500 times"
"$bin/pj-node" --name beta --peer "$addr" --tells 10000 --asks 500 --run-ms 300
echo
echo "== pjctl asks alpha's AdminActor for its dead letters"
"$bin/pjctl" dead-letters "$addr"
echo
echo "== pjctl asks alpha which actors are alive"
"$bin/pjctl" actors "$addr"
echo
echo "== stopping alpha gracefully (SIGTERM)"
kill -TERM "$alpha"
wait "$alpha" || true
alpha=""
echo
echo "== the server's embedded store: pj-server migrate on SQLite (twice: the second changes nothing)"
"$bin/pj-server" migrate --db "sqlite://$tmp/pj.db"
"$bin/pj-server" migrate --db "sqlite://$tmp/pj.db"
echo
echo "== checking a CRON expression before saving a job: 10:15 on the last Friday of each month, Berlin time"
"$bin/pj-server" cron-next "0 15 10 ? * 6L" --tz Europe/Berlin --count 4
echo
echo "== a bad one is refused with the reason (exit status 2)"
"$bin/pj-server" cron-next "0 0 0 32 * ?" || echo "   (exit status $?)"
echo "done."
