#!/bin/sh
# Installs the Debian packages the project needs, only when one is missing.
# Idempotent: when everything is present it only runs dpkg-query (well under
# a second). Used by `make deps`, which check, demo and bench run first.
set -eu
PKGS="libnng-dev libprotobuf-c-dev protobuf-c-compiler default-libmysqlclient-dev
libmongoc-dev libbson-dev check libsqlite3-dev mariadb-server mariadb-client pkg-config
python3-mockupdb python3-mongomock libcurl4-openssl-dev libcaf-dev libssl-dev sqlite3
libquartz2-java libmariadb-java libhikaricp-java default-jdk-headless clang libclang-rt-14-dev tzdata
python3-pyftpdlib libjansson-dev openssl python3"
missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
