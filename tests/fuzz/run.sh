#!/bin/sh
# tests/fuzz/run.sh SECONDS - builds the request fuzzer with clang in its own
# build directory and runs it for at most SECONDS (default 60) over a copy of
# the seed corpus. Exits non-zero if the build fails or the fuzzer finds a
# crash, leak or sanitizer error (the reproducer is left in the build dir).
set -eu

secs=${1:-60}
case $secs in ''|*[!0-9]*) echo "usage: $0 SECONDS" >&2; exit 2;; esac
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$src/_build-fuzz}

if [ ! -x "$src/configure" ]; then
	(cd "$src" && autoreconf -fi)
fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ]; then
	# --enable-sanitizers drops _FORTIFY_SOURCE, which ASan does not allow.
	"$src/configure" -q CC=clang --enable-fuzzers --enable-sanitizers
fi
make -j2 tests/fuzz/fuzz_req

work=$build/fuzz-corpus
mkdir -p "$work" "$build/fuzz-artifacts"
cp -n "$src"/tests/fuzz/corpus/req/* "$work"/ 2>/dev/null || true
# One core (the machine is shared); bounded time and input size; a crash
# makes libFuzzer exit non-zero, which set -e turns into ours.
exec ./tests/fuzz/fuzz_req -max_total_time="$secs" -max_len=65536 -timeout=10 \
	-rss_limit_mb=2048 -print_final_stats=1 -dict="$src/tests/fuzz/req.dict" \
	-artifact_prefix="$build/fuzz-artifacts/" "$work"
