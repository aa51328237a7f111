#!/bin/bash
# bench/e2e-ab.sh BIN_A BIN_B [SECONDS] [ROUNDS] - bench/e2e.sh against two
# responder binaries (e.g. before and after a change), each in its own pool
# of 2 behind its own nginx on loopback, measured in alternation: A, B, A, B
# ... so that both see the same drift of this noisy machine.  Every figure
# is a ratio against bare `python3 -c 'print(1)'` launches measured back to
# back in the same round (bench/e2e.sh).  Needs root, wrk, a RootFS.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
a=${1:?BIN_A} b=${2:?BIN_B} secs=${3:-10} rounds=${4:-3}
ctl=$repo/scripts/lib/service-ctl.sh
state=$(mktemp -d /var/tmp/e2e-ab.XXXXXX)
chmod 0755 "$state"
env_for() { # NAME BIN PORT
	echo SANDBOX_STATE_DIR="$state/$1" SANDBOX_PORT="$3" SANDBOX_POOL=2 SANDBOX_QUEUE=2 \
		SANDBOX_BIN="$2" SANDBOX_CGROUP="sandbox-e2e-$1" SANDBOX_RATE=100000r/s \
		SANDBOX_BURST=100000 SANDBOX_CONN_PER_IP=64
}
# ARGS_A, ARGS_B: the responders' extra options (SANDBOX_FCGI_ARGS), e.g.
# ARGS_B="--warm-runtime none" to compare a build with warm interpreters
# to one without them.
args_for() { [ "$1" = A ] && echo "${ARGS_A:-}" || echo "${ARGS_B:-}"; }
# CTL_A, CTL_B: the service-ctl.sh that starts each side (default this
# checkout's): an older build needs the scripts of its own commit, which
# pass only the options it knows.
ctl_for() { [ "$1" = A ] && echo "${CTL_A:-$ctl}" || echo "${CTL_B:-$ctl}"; }
pa=$((20000 + RANDOM % 10000)) pb=$((30000 + RANDOM % 10000))
stop() { env $(env_for A "$a" $pa) "$(ctl_for A)" stop >/dev/null 2>&1 || true
	env $(env_for B "$b" $pb) "$(ctl_for B)" stop >/dev/null 2>&1 || true; rm -rf "$state"; }
trap stop EXIT
env $(env_for A "$a" $pa) SANDBOX_FCGI_ARGS="$(args_for A)" "$(ctl_for A)" start 60 >/dev/null
env $(env_for B "$b" $pb) SANDBOX_FCGI_ARGS="$(args_for B)" "$(ctl_for B)" start 60 >/dev/null
for r in $(seq "$rounds"); do
	for side in A B; do
		port=$pa; [ $side = B ] && port=$pb
		echo "## round $r: $side ($([ $side = A ] && echo "$a" || echo "$b"))"
		URL=http://127.0.0.1:$port "$repo/bench/e2e.sh" "$secs" 1 2>/dev/null | tail -3
	done
done
