#!/bin/bash
# bench/warm.sh [ROUNDS] [SECONDS] - warm interpreters (issue 13), one run:
#  1. one client, interleaved per round: a Python print(1) through nginx
#     served warm, the same forced cold (entrypoint /usr/bin/python3
#     main.py, which the warm interpreter cannot serve), and a bare
#     posix_spawn of `python3 -c 'print(1)'`; medians and ratios to bare;
#  2. one client, warm requests back to back (no pause for the responder
#     to start its next interpreter): median and hit rate;
#  3. saturated: 2 and 4 clients for SECONDS, e2e (warm-eligible print(1))
#     vs bare launches at the same concurrency, interleaved: rates, ratio,
#     p50/p99;
#  4. the hit rate under a mixed workload (python, node, bash; python in
#     the compilers template too when it is built), 2 clients.
# With URL unset it starts its own pool (scripts/lib/service-ctl.sh, from
# the build in _build or SANDBOX_BIN) on a free loopback port, nginx's rate
# limit off, and stops it at the end.  Run as root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
rounds=${1:-200}
secs=${2:-10}
if [ -z "${URL:-}" ]; then
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	state=$(mktemp -d /tmp/sandbox-bench-XXXXXX)
	chmod 755 "$state"
	export SANDBOX_STATE_DIR=$state SANDBOX_PORT=$port SANDBOX_POOL=${SANDBOX_POOL:-$(nproc)} \
	       SANDBOX_BIN=${SANDBOX_BIN:-$repo/_build/src/fcgi/sandbox-fcgi} \
	       SANDBOX_CGROUP=sandbox-fcgi-bench-$port SANDBOX_RATE=100000r/s SANDBOX_BURST=100000
	trap '"$repo/scripts/lib/service-ctl.sh" stop >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
	"$repo/scripts/lib/service-ctl.sh" start 60 >&2
	URL=http://127.0.0.1:$port
fi
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cpus; $URL; $rounds rounds, $secs s saturated"
/usr/bin/python3 "$here/warm.py" "$URL" "$rounds" "$secs"
