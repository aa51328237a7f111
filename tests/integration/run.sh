#!/bin/bash
# run.sh - the integration suite: real nginx + spawn-fcgi/multiwatch pool on
# loopback, driven over HTTP by pytest. Called by scripts/test.sh.
#
#   tests/integration/run.sh [pytest args...]
#
# Needs root, a built responder (SANDBOX_BIN, default: the newest
# _build*/src/fcgi/sandbox-fcgi, else src/fcgi/sandbox-fcgi) and a RootFS
# (SANDBOX_ROOTFS_BASE, default /var/lib/sandbox-fcgi/rootfs). Debian
# packages: python3-pytest nginx-light spawn-fcgi multiwatch curl.
# Exit status: pytest's (0 = all passed).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"
# Debian's interpreter and pytest, never a pyenv shim; no bytecode in the tree.
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 -m pytest -p no:cacheprovider -q "$@"
