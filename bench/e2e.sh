#!/bin/bash
# bench/e2e.sh [SECONDS] [ROUNDS] - end-to-end: requests/s and p50/p99 latency
# through nginx for a Python print(1) run at 1 and 2 concurrent clients (wrk),
# beside a bare loop of `python3 -c 'print(1)'` launches at the same
# concurrency, interleaved, in one run. Needs the service up (quickstart.sh;
# URL=http://127.0.0.1:8080; start it with SANDBOX_RATE=100000r/s, or nginx's
# rate limit answers 429) and wrk (apt-get install wrk).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
secs=${1:-15}
rounds=${2:-3}
url=${URL:-http://127.0.0.1:8080}
py=/usr/bin/python3
curl -fsS "$url/api/sandbox/health" >/dev/null || { echo "service not up at $url" >&2; exit 1; }
bare() { # CONCURRENCY SECONDS -> "BARE rate=... p50_ms=..."
	local c=$1 s=$2
	/usr/bin/python3 - "$c" "$s" "$py" <<'PY'
import os, sys, time, threading
c, secs, py = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
lat = []; lock = threading.Lock(); stop = time.monotonic() + secs
env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
def worker():
    while time.monotonic() < stop:
        t = time.monotonic()
        # posix_spawn: the launcher's own fork cost stays out of the figure
        pid = os.posix_spawn(py, [py, "-c", "print(1)"], env,
                             file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
        os.waitpid(pid, 0)
        with lock: lat.append(time.monotonic() - t)
ts = [threading.Thread(target=worker) for _ in range(c)]
t0 = time.monotonic(); [t.start() for t in ts]; [t.join() for t in ts]
el = time.monotonic() - t0; lat.sort()
print("BARE rate=%.1f p50_ms=%.2f p99_ms=%.2f n=%d" % (len(lat) / el, lat[len(lat)//2] * 1000, lat[int(len(lat)*.99)] * 1000, len(lat)))
PY
}
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cpus; $url; $secs s per measurement, $rounds rounds"
# All CPUs' busy jiffies (everything but idle and iowait) from /proc/stat:
# with the machine otherwise idle, their growth over a measurement divided
# by the launches or requests it made is what each one cost in CPU, its
# share of nginx, the responders and the kernel's workers included
# (cpu_ms=). Unlike a rate it does not move with how well the clients keep
# the CPUs busy; it drifts with the machine like everything else.
busy_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
cpu_ms() { # JIFFIES_BEFORE "... n=COUNT ..."
	local n=${2##* n=}
	awk -v j=$(( $(busy_jiffies) - $1 )) -v hz="$(getconf CLK_TCK)" -v n="${n%% *}" \
		'BEGIN{printf "cpu_ms=%.2f", (n > 0 ? j * 1000 / hz / n : 0)}'
}
for r in $(seq "$rounds"); do
	for c in 1 2; do
		j=$(busy_jiffies)
		b=$(bare "$c" "$secs")
		b="$b $(cpu_ms "$j" "$b")"
		j=$(busy_jiffies)
		w=$(wrk -t "$c" -c "$c" -d "${secs}s" -s "$here/post.lua" "$url/api/sandbox/run" | grep '^E2E')
		w="$w $(cpu_ms "$j" "$w")"
		# every answer must be a 200 with a successful run, or the rate is meaningless
		[[ $w == *" errors=0 "* ]] || { echo "FAILED requests: $w (nginx limit_req? start with SANDBOX_RATE=100000r/s)" >&2; exit 1; }
		echo "round=$r clients=$c $b | $w"
	done
done | tee -a /dev/stderr | /usr/bin/python3 -c '
import re, sys, statistics as st
rows = {}
for line in sys.stdin:
    m = re.search(r"clients=(\d).*BARE rate=([\d.]+) p50_ms=([\d.]+).*E2E rps=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+)", line)
    cpu = re.findall(r"cpu_ms=([\d.]+)", line)
    if m:
        c = int(m.group(1)); rows.setdefault(c, []).append([float(x) for x in m.groups()[1:] + tuple(cpu)])
print("\nper-round pairs (bare and e2e measured back to back), medians over rounds:")
print("clients  bare/s  e2e/s  e2e/bare  bare_p50_ms  e2e_p50_ms  p50_ratio  e2e_p99_ms  bare_cpu_ms  e2e_cpu_ms  cpu_ratio")
for c, v in sorted(rows.items()):
    # this VM drifts by tens of percent over minutes: compare within a round,
    # then take the median of the per-round ratios
    rate_ratio = st.median(x[2] / x[0] for x in v)
    p50_ratio = st.median(x[3] / x[1] for x in v)
    cpu_ratio = st.median(x[6] / x[5] for x in v)
    med = [st.median(x[i] for x in v) for i in range(7)]
    print("%7d %7.1f %6.1f %8.2f %12.2f %11.2f %10.2f %11.2f %12.2f %11.2f %10.2f" % (c, med[0], med[2], rate_ratio, med[1], med[3], p50_ratio, med[4], med[5], med[6], cpu_ratio))
'
