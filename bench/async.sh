#!/bin/bash
# bench/async.sh [RUNS] [ROUNDS] - asynchronous runs against synchronous ones:
# the wall time of RUNS short runs (bash `echo i`) submitted as one
# POST /runs/batch and polled until all are done (GET /runs?ids=), beside
# the same RUNS sent to POST /run by as many clients as the pool has
# responders, interleaved, ROUNDS times; medians and the ratio. Needs the
# service up (quickstart.sh or scripts/lib/service-ctl.sh; URL, default
# http://127.0.0.1:8080; start it with SANDBOX_RATE=100000r/s, or nginx's
# rate limit answers 429) and POOL (default: /info's pool_size).
set -euo pipefail
runs=${1:-50}
rounds=${2:-5}
url=${URL:-http://127.0.0.1:8080}
curl -fsS "$url/api/sandbox/health" >/dev/null || { echo "service not up at $url" >&2; exit 1; }
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cpus; $url; $runs runs, $rounds rounds"
echo "# command: URL=$url $0 $runs $rounds"
exec /usr/bin/python3 - "$url" "$runs" "$rounds" <<'PY'
import concurrent.futures as cf, http.client, json, statistics as st, sys, time, urllib.parse
url, runs, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
u = urllib.parse.urlparse(url)
def call(method, path, body=None):
    c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=300)
    try:
        c.request(method, "/api/sandbox/" + path, body=json.dumps(body).encode() if body else None,
                  headers={"Content-Type": "application/json"} if body else {})
        r = c.getresponse()
        return r.status, json.loads(r.read())
    finally:
        c.close()
info = call("GET", "info")[1]
pool, slots = info["pool_size"], info["async"]["slots"]
bodies = [{"runtime": "bash", "code": "echo %d" % i} for i in range(runs)]
def sync_round():
    t = time.monotonic()
    with cf.ThreadPoolExecutor(pool) as ex:
        res = list(ex.map(lambda b: call("POST", "run", b), bodies))
    el = time.monotonic() - t
    assert all(s == 200 and r["stdout"] == "%d\n" % i for i, (s, r) in enumerate(res)), res[:2]
    return el
def async_round():
    t = time.monotonic()
    s, r = call("POST", "runs/batch", {"runs": bodies})
    assert s == 202, r
    ids = [x["run_id"] for x in r["runs"]]
    while True:
        s, r = call("GET", "runs?ids=" + ",".join(ids))
        if all(x["status"] in ("done", "cancelled", "failed") for x in r["runs"]):
            break
        time.sleep(0.02)
    el = time.monotonic() - t
    assert all(x["status"] == "done" and x["result"]["stdout"] == "%d\n" % i
               for i, x in enumerate(r["runs"])), r["runs"][:2]
    return el
rows = []
for k in range(rounds):
    a, s_ = async_round(), sync_round()
    rows.append((s_, a))
    print("round=%d sync_s=%.3f async_s=%.3f async/sync=%.2f" % (k + 1, s_, a, a / s_), flush=True)
print("\npool=%d async_slots=%d runs=%d rounds=%d" % (pool, slots, runs, rounds))
print("median sync_s=%.3f (%.1f runs/s)  async_s=%.3f (%.1f runs/s)  median ratio async/sync=%.2f" % (
    st.median(r[0] for r in rows), runs / st.median(r[0] for r in rows),
    st.median(r[1] for r in rows), runs / st.median(r[1] for r in rows),
    st.median(r[1] / r[0] for r in rows)))
PY
