#!/bin/bash
# bench/scale.sh [SECONDS] [ROUNDS] - throughput against the number of
# responders (issue 13: "measure throughput against the number of
# responders up to the core count and report how it scales"): for N = 1,
# 2, 4, ... and the core count, a pool of N responders (warm Python, the
# defaults) saturated by N clients (wrk, print(1), bench/post.lua), and
# bare `python3 -c 'print(1)'` launches at the same concurrency, all pools
# started first and measured interleaved, ROUNDS rounds of SECONDS each.
# Prints per round: rates, service/bare, the rate over N times the
# 1-responder rate of the same round (1.00: linear), and the idle share of
# CPU time; then the medians per N.  Run as root, on a quiet machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
secs=${1:-5}
rounds=${2:-3}
export BENCH_RUNTIME=python
# shellcheck source=bench/pool-lib.sh
. "$here/pool-lib.sh"
trap stop_all EXIT
max=$(nproc)
ns=()
for ((n = 1; n < max; n *= 2)); do ns+=("$n"); done
ns+=("$max")
declare -A urls
for n in "${ns[@]}"; do
	SANDBOX_POOL=$n start_svc ""
	urls[$n]=$URL_STARTED
done
body='{"runtime": "python", "code": "print(1)"}'
echo "# $(date -u +%FT%TZ) $(uname -r) $max cpus; pools of ${ns[*]}; $rounds rounds of $secs s"
echo "responders round   bare/s    svc/s  svc/bare  svc/(N*svc1)  bare/(N*bare1)  idle"
rows=$(mktemp)
for ((r = 1; r <= rounds; r++)); do
	b1=0 s1=0
	for n in "${ns[@]}"; do
		read -r br _ _ < <(bare "$n" "$secs")
		read -r sr _ _ si < <(wrk_idle "$n" "$secs" "$body" "${urls[$n]}")
		[ "$n" -ne 1 ] || { b1=$br; s1=$sr; }
		awk -v n="$n" -v r="$r" -v br="$br" -v sr="$sr" -v b1="$b1" -v s1="$s1" -v si="$si" \
			'BEGIN { printf "%10d %5d %8.1f %8.1f %9.2f %13.2f %15.2f %4d%%\n", n, r, br, sr, sr/br, sr/(n*s1), br/(n*b1), si }' |
			tee -a "$rows"
	done
done
echo "medians:"
for n in "${ns[@]}"; do
	awk -v n="$n" '$1 == n { a[++k] = $5; e[k] = $6 }
		function med(x, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
			return k % 2 ? x[(k + 1) / 2] : (x[k / 2] + x[k / 2 + 1]) / 2 }
		END { printf "%10d  svc/bare %.2f  svc/(N*svc1) %.2f\n", n, med(a, k), med(e, k) }' "$rows"
done
rm -f "$rows"
