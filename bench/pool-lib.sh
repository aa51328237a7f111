# shellcheck shell=bash disable=SC2154,SC2034  # $here and $repo come from the sourcing script, which reads URL_STARTED
# bench/pool-lib.sh - sourced by bench scripts that start their own pools:
# start_svc FCGI_ARGS (a pool of SANDBOX_POOL or nproc responders behind
# nginx on a free loopback port, from scripts/lib/service-ctl.sh; its URL in
# URL_STARTED), stop_all (every pool started; set as the EXIT trap), bare
# and wrk_run/wrk_idle (rates and latencies), ticks (/proc/stat).
# Needs $here (bench/) and $repo.
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
