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
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
states=() cgroups=()
stop_all() {
	local i
	# The same cgroup name as at start, or its delegated directories stay.
	for i in "${!states[@]}"; do
		SANDBOX_STATE_DIR=${states[$i]} SANDBOX_CGROUP=${cgroups[$i]} \
			"$repo/scripts/lib/service-ctl.sh" stop >/dev/null 2>&1 || true
		rm -rf "${states[$i]}"
	done
}
start_svc() { # FCGI_ARGS -> prints the URL (the variables stay exported for stop)
	local port state
	port=$(free_port)
	state=$(mktemp -d /tmp/sandbox-bench-XXXXXX)
	chmod 755 "$state"
	states+=("$state")
	cgroups+=("sandbox-fcgi-bench-$port")
	SANDBOX_STATE_DIR=$state SANDBOX_PORT=$port SANDBOX_POOL=${SANDBOX_POOL:-$(nproc)} \
	SANDBOX_BIN=${SANDBOX_BIN:-$repo/_build/src/fcgi/sandbox-fcgi} SANDBOX_FCGI_ARGS=$1 \
	SANDBOX_CGROUP=sandbox-fcgi-bench-$port SANDBOX_RATE=100000r/s SANDBOX_BURST=100000 \
		"$repo/scripts/lib/service-ctl.sh" start 60 >&2
	URL_STARTED=http://127.0.0.1:$port
}
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
bare() { # CONCURRENCY SECONDS -> "rate p50_ms p99_ms" of bare launches (warm.py's)
	/usr/bin/python3 "$here/warm.py" --bare "$1" "$2"
}
wrk_run() { # CONCURRENCY SECONDS BODY [URL] -> "rate p50_ms p99_ms"
	local w
	w=$(WRK_BODY=$3 wrk -t "$1" -c "$1" -d "${2}s" -s "$here/post.lua" "${4:-$URL}/api/sandbox/run" | grep '^E2E')
	[[ $w == *" non2xx_or_failed=0 errors=0 "* ]] || { echo "FAILED requests: $w" >&2; exit 1; }
	sed -E 's/.*rps=([0-9.]+) p50_ms=([0-9.]+) p99_ms=([0-9.]+).*/\1 \2 \3/' <<<"$w"
}
ticks() { # busy and idle ticks of all CPUs (/proc/stat)
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat
}
wrk_idle() { # CONCURRENCY SECONDS BODY URL -> "rate p50_ms p99_ms idle_pct"
	local b0 i0 b1 i1 out
	read -r b0 i0 < <(ticks)
	out=$(wrk_run "$@")
	read -r b1 i1 < <(ticks)
	echo "$out $(awk -v b=$((b1 - b0)) -v i=$((i1 - i0)) 'BEGIN { printf "%.0f", 100 * i / (b + i) }')"
}
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
