#!/bin/bash
# bench/launch.sh [N] - jail setup+teardown cost per launch, for /bin/true and
# `python3 -c pass`, against bare fork+exec and bubblewrap, in one run.
# Needs: a build (_build, or BUILD=dir), a RootFS (ROOTFS=tree, default the
# minimal template), root; bubblewrap optional (apt-get install bubblewrap).
# Prints the command line, the machine, and one table per program.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/_build}
rootfs=${ROOTFS:-/var/lib/sandbox-fcgi/rootfs/minimal/current/tree}
n=${1:-200}
make -C "$build" -s bench/launch src/cli/sandbox-run >/dev/null
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cpus; rootfs $(readlink -f "$rootfs")"
echo "# bwrap: $(bwrap --version 2>/dev/null || echo absent)"
for prog in "/bin/true" "/usr/bin/python3 -c pass"; do
	echo
	echo "## $build/bench/launch ROOTFS sandbox-run $n $prog"
	# shellcheck disable=SC2086
	"$build/bench/launch" "$rootfs" "$build/src/cli/sandbox-run" "$n" $prog
done
