#!/bin/bash
# bench/warm.sh [ROUNDS] [SECONDS] - warm interpreters (issue 13), one run:
#  1. one client, interleaved per round: a Python print(1) through nginx
#     served warm, the same forced cold (entrypoint /usr/bin/python3
#     main.py, which the warm interpreter cannot serve), and a bare
#     posix_spawn of `python3 -c 'print(1)'`; medians and ratios to bare
#     (BENCH_RUNTIME=node: console.log(1), /usr/bin/node main.js, and the
#     RootFS's own node -e 'console.log(1)' bare, see warm.py);
#  2. one client, warm requests back to back (no pause for the responder
#     to start its next interpreter): median and hit rate;
#  3. saturated: 2 and 4 clients for SECONDS each (wrk, bench/post.lua),
#     e2e warm-eligible print(1), the same forced cold, and bare launches
#     at the same concurrency, interleaved, 2 rounds: rates, ratios, p50/p99;
#  4. the hit rate under a mixed workload (python, node, bash; python in
#     the compilers template too when it is built), 2 clients.
# In 3, with UNPINNED_URL, the same service with --cpu-affinity off too
# (src/jail/cpus.c), and the share of CPU time left idle (/proc/stat)
# during the warm and the unpinned runs.
# With URL unset it starts its own pool (scripts/lib/service-ctl.sh, from
# the build in _build or SANDBOX_BIN) on a free loopback port, nginx's rate
# limit off, and stops it at the end.  Run as root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
rounds=${1:-200}
secs=${2:-10}
runtime=${BENCH_RUNTIME:-python}
export BENCH_RUNTIME=$runtime
# shellcheck source=bench/pool-lib.sh
. "$here/pool-lib.sh"
if [ -z "${URL:-}" ]; then
	trap stop_all EXIT
	start_svc ""
	URL=$URL_STARTED
	# The same service without warm interpreters, measured interleaved
	# with the other (NOWARM_URL= to skip): what the warm path changes.
	start_svc "--warm-runtime none"
	NOWARM_URL=${NOWARM_URL-$URL_STARTED}
	# Warm, responders not pinned to home CPUs (UNPINNED_URL= to skip).
	start_svc "--cpu-affinity off"
	UNPINNED_URL=${UNPINNED_URL-$URL_STARTED}
fi
export NOWARM_URL=${NOWARM_URL:-} UNPINNED_URL=${UNPINNED_URL:-}
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cpus; $URL; $rounds rounds, $secs s saturated"
/usr/bin/python3 "$here/warm.py" "$URL" "$rounds" "$secs"
echo
echo "3. saturated (wrk), ${secs} s each, interleaved per round: bare launches, warm ($runtime),"
echo "   cold (the same forced cold) and, with NOWARM_URL, the service without warm interpreters,"
echo "   with UNPINNED_URL, warm with --cpu-affinity off; idle: % of CPU time idle (/proc/stat)"
echo "clients round   bare/s  warm/s  cold/s nowarm/s unpinned/s  warm/bare cold/bare nowarm/bare unpinned/bare  bare_p50 warm_p50 nowarm_p50  warm_p99 nowarm_p99  warm_idle unpinned_idle"
if [ "$runtime" = node ]; then
	body='{"runtime": "node", "code": "console.log(1)"}'
	cold='{"runtime": "node", "code": "console.log(1)", "entrypoint": "/usr/bin/node main.js"}'
else
	body='{"runtime": "python", "code": "print(1)"}'
	cold='{"runtime": "python", "code": "print(1)", "entrypoint": "/usr/bin/python3 main.py"}'
fi
for c in 2 4; do
	for r in 1 2; do
		read -r br bp5 bp9 < <(bare "$c" "$secs")
		read -r wr wp5 wp9 wi < <(wrk_idle "$c" "$secs" "$body" "$URL")
		read -r cr cp5 cp9 < <(wrk_run "$c" "$secs" "$cold")
		nr=0 np5=0 np9=0
		[ -z "$NOWARM_URL" ] || read -r nr np5 np9 < <(wrk_run "$c" "$secs" "$body" "$NOWARM_URL")
		ur=0 ui=0
		[ -z "$UNPINNED_URL" ] || read -r ur _ _ ui < <(wrk_idle "$c" "$secs" "$body" "$UNPINNED_URL")
		awk -v c="$c" -v r="$r" -v br="$br" -v wr="$wr" -v cr="$cr" -v nr="$nr" -v ur="$ur" -v bp5="$bp5" -v wp5="$wp5" -v np5="$np5" -v wp9="$wp9" -v np9="$np9" -v wi="$wi" -v ui="$ui" \
			'BEGIN { printf "%7d %5d %8.1f %7.1f %7.1f %8.1f %10.1f %10.2f %9.2f %11.2f %13.2f %9.2f %8.2f %10.2f %9.2f %10.2f %9d%% %12d%%\n", c, r, br, wr, cr, nr, ur, wr/br, cr/br, nr/br, ur/br, bp5, wp5, np5, wp9, np9, wi, ui }'
	done
done
