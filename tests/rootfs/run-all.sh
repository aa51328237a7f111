#!/bin/bash
# tests/rootfs/run-all.sh - runs the RootFS tests and prints one combined
# "N passed, N failed" line.  ROOTFS_TESTS_QUICK=1 leaves out test-build.sh
# (the real debootstrap build, 2-5 minutes).
set -u
dir=$(cd "$(dirname "$0")" && pwd)
tests=(test-shims.sh test-publish.sh)
[ "${ROOTFS_TESTS_QUICK:-0}" = 1 ] || tests+=(test-build.sh)
passed=0 failed=0
for t in "${tests[@]}"; do
	echo "== tests/rootfs/$t"
	out=$("$dir/$t" 2>&1 | tee -a /dev/stderr | tail -n 1)
	if [[ $out =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		passed=$((passed + BASH_REMATCH[1]))
		failed=$((failed + BASH_REMATCH[2]))
	else
		echo "FAIL tests/rootfs/$t did not finish with a summary line"
		failed=$((failed + 1))
	fi
done
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
