#!/bin/bash
# run.sh - the quick-start test: a fresh clone of this repository's HEAD in a
# private (0700) directory, its scripts/quickstart.sh run with its own port,
# state directory, cgroup and install prefix, one run over HTTP, a re-run,
# stop, nothing left. Called by scripts/test.sh (stage quickstart).
#
#   tests/quickstart/run.sh [pytest args...]
#
# Needs root, the Debian packages quickstart.sh installs and the `minimal`
# RootFS (SANDBOX_ROOTFS_BASE, default /var/lib/sandbox-fcgi/rootfs) built
# from the same recipe, so that quickstart's build-rootfs.sh is a no-op.
# Tests committed code only: uncommitted changes are not in the clone.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 -m pytest -p no:cacheprovider -q -s "$@"
