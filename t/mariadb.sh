#!/bin/sh
# A private MariaDB server as a plain process, for the store suites.
#
#   t/mariadb.sh start DIR     init DIR/data if needed, start, wait until it
#                              answers; prints "PORT SOCKET"
#   t/mariadb.sh stop DIR      SIGTERM and wait for the exit
#   t/mariadb.sh restart DIR   stop, then start again on the same port
#                              (the restart test uses this mid-test)
#   t/mariadb.sh kill DIR      SIGKILL (a crash, not a clean stop)
#
# PJ_MARIADB_ARGS (optional) is appended to mariadbd's options, e.g.
# "--innodb-buffer-pool-size=1G" for bench/store_scale.sh.
# Never touches /etc/mysql or the system's server: --no-defaults comes first.
set -eu
cmd=$1
dir=$(cd "$2" 2>/dev/null && pwd || { mkdir -p "$2" && cd "$2" && pwd; })

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_ready() {
	i=0
	while ! mariadb-admin --no-defaults -h127.0.0.1 -P"$1" -uroot \
		--connect-timeout=1 ping >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 300 ]; then
			echo "mariadb.sh: server in $dir did not answer; log:" >&2
			tail -20 "$dir/err.log" >&2 || true
			exit 1
		fi
		sleep 0.05
	done
}

start() {
	if [ ! -d "$dir/data/mysql" ]; then
		mariadb-install-db --no-defaults --datadir="$dir/data" --user=root \
			--auth-root-authentication-method=normal --skip-test-db \
			>"$dir/install.log" 2>&1 || {
			cat "$dir/install.log" >&2
			exit 1
		}
	fi
	port=$(cat "$dir/port" 2>/dev/null || free_port)
	echo "$port" >"$dir/port"
	# setsid: a test that restarts the server from a Check fork must not
	# take it down when Check kills the test's process group afterwards
	setsid mariadbd --no-defaults --datadir="$dir/data" --user=root \
		--socket="$dir/sock" --port="$port" --bind-address=127.0.0.1 \
		--skip-name-resolve --pid-file="$dir/pid" --log-error="$dir/err.log" \
		--innodb-buffer-pool-size=64M --max-connections=500 \
		${PJ_MARIADB_ARGS:-} >/dev/null 2>&1 &
	wait_ready "$port"
	echo "$port $dir/sock"
}

stop() {
	sig=${1:-TERM}
	[ -f "$dir/pid" ] || return 0
	pid=$(cat "$dir/pid")
	kill -s "$sig" "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 600 ] && kill -s KILL "$pid" 2>/dev/null
		sleep 0.05
	done
	rm -f "$dir/pid"
}

case "$cmd" in
start) start ;;
stop) stop TERM ;;
kill) stop KILL ;;
restart)
	stop TERM
	start
	;;
*)
	echo "usage: $0 start|stop|restart|kill DIR" >&2
	exit 2
	;;
esac
