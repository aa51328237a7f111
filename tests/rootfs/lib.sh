# tests/rootfs/lib.sh - tiny assertion helpers for the RootFS shell tests.
# Each test file sources this, calls ok/fail, and ends with `summary`, which
# prints "N passed, N failed" and returns non-zero when anything failed.

T_PASSED=0
T_FAILED=0

ok() { T_PASSED=$((T_PASSED + 1)); printf 'ok   %s\n' "$1"; }
fail() { T_FAILED=$((T_FAILED + 1)); printf 'FAIL %s\n' "$1"; [ -z "${2:-}" ] || printf '     %s\n' "$2"; }

# check NAME CMD...: passes when CMD exits 0.
check() {
	local name=$1; shift
	if "$@"; then ok "$name"; else fail "$name" "command failed: $*"; fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "expected [$2], got [$3]"; fi
}

# check_contains NAME NEEDLE HAYSTACK
check_contains() {
	case $3 in
	*"$2"*) ok "$1" ;;
	*) fail "$1" "[$2] not found in [$(printf '%s' "$3" | head -c 400)]" ;;
	esac
}

summary() {
	printf '%d passed, %d failed\n' "$T_PASSED" "$T_FAILED"
	[ "$T_FAILED" -eq 0 ]
}

T_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
