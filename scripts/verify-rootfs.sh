#!/bin/bash
# verify-rootfs.sh - check a built RootFS: every hardening rule of
# build-rootfs.sh, then each runtime of the template inside a real jail
# (sandbox-run): hello world with stdin, the handler shim, compile + run for
# compiled runtimes, and an import of each module in the template's
# `imports` list.  Exits non-zero after reporting every failure.
#
# usage: verify-rootfs.sh [--no-runtime] [PATH]
#        verify-rootfs.sh [--no-runtime] TEMPLATE [BASE]
#
# PATH is a version directory, a template's `current` link or a template
# directory; TEMPLATE [BASE] means BASE/TEMPLATE/current (BASE defaults to
# $SANDBOX_ROOTFS_BASE or /var/lib/sandbox-fcgi/rootfs).  Default: minimal.
#
# sandbox-run is $SANDBOX_RUN, else sandbox-run on PATH, else
# src/cli/sandbox-run in this repository.  Its absence is a failure unless
# --no-runtime was given.  Samples and import lists come from the recipe
# ($ROOTFS_RECIPE_DIR, default rootfs/ of this repository).
set -uo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$SCRIPT_DIR/lib/rootfs-common.sh"
. "$SCRIPT_DIR/lib/rootfs-checks.sh"
. "$SCRIPT_DIR/lib/rootfs-runtime-checks.sh"

usage() {
	echo "usage: $rootfs_prog [--no-runtime] [PATH | TEMPLATE [BASE]]" >&2
	exit 2
}

RUNTIME=1
while [ $# -gt 0 ]; do
	case $1 in
	--no-runtime) RUNTIME=0; shift ;;
	-h|--help) usage ;;
	--) shift; break ;;
	-*) rootfs_log "unknown option '$1'"; usage ;;
	*) break ;;
	esac
done
[ $# -le 2 ] || usage
rootfs_require_tools jq find sha256sum

# A bare template name (no slash, not a directory here) means BASE/NAME/current.
ARG=${1:-minimal}
if [[ $ARG != */* ]] && [ ! -d "$ARG" ] && rootfs_valid_template "$ARG"; then
	ARG=$(rootfs_base "${2:-}")/$ARG/current
elif [ $# -eq 2 ]; then
	usage
fi
VDIR=$(rootfs_version_dir "$ARG") || rootfs_die "'$ARG' is not a RootFS version (no tree/ inside); build it with scripts/build-rootfs.sh"
RECIPE=${ROOTFS_RECIPE_DIR:-$ROOTFS_REPO/rootfs}

echo "== verifying $VDIR"
echo "-- hardening"
check_hardening "$VDIR"

if [ "$RUNTIME" -eq 1 ]; then
	echo "-- runtimes in a jail"
	if SANDBOX_RUN_BIN=$(rt_find_sandbox_run); then
		echo "   (sandbox-run: $SANDBOX_RUN_BIN)"
		rt_check_all "$VDIR" "$RECIPE" "$SANDBOX_RUN_BIN"
	else
		vfail "sandbox-run not found (set \$SANDBOX_RUN, put it on PATH or build src/cli/sandbox-run); runtime checks not run"
	fi
else
	echo "-- runtimes: skipped (--no-runtime)"
fi

echo "== $VERIFY_PASSED passed, $VERIFY_FAILED failed: $VDIR"
[ "$VERIFY_FAILED" -eq 0 ]
