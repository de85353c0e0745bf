#!/bin/sh
# Builds each libFuzzer target t/fuzz/NAME_fuzz.c with clang (ASan + UBSan,
# libraries instrumented for coverage: make FUZZ=1) and runs it for
# FUZZ_SECONDS (default 30) over its corpus t/fuzz/NAME/, which it grows.
# A crash leaves crash-* files behind and makes this script fail.
set -eu
secs=${FUZZ_SECONDS:-30}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=build/fuzz
make --no-print-directory FUZZ=1 libs >/dev/null
libs=$(for l in pjactors pjserver pjworker ar pjproto; do
	[ -f "$out/lib/lib$l.a" ] && echo "$out/lib/lib$l.a"; done)
for f in t/fuzz/*_fuzz.c; do
	[ -f "$f" ] || continue
	name=$(basename "$f" _fuzz.c)
	mkdir -p "t/fuzz/$name"
	clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE \
		-I. -I"$out/gen" $(pkg-config --cflags libprotobuf-c) "$f" $libs \
		$(pkg-config --libs libprotobuf-c mysqlclient sqlite3 libcurl jansson libcrypto) -lnng -pthread -lm -ldl \
		-o "$out/$name"
	echo "fuzz: $name for ${secs}s"
	"$out/$name" -max_total_time="$secs" -print_final_stats=1 "t/fuzz/$name"
done
