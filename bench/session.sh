#!/bin/bash
# bench/session.sh [N] - what a session costs over a one-shot run (issue 10):
# a Python print(1) as POST /api/sandbox/run, as a run in an existing session
# (POST /api/sandbox/sessions/{id}/run: copy-in, run, copy-back and swap,
# fsync), and as a session created and then run (POST /sessions + its run),
# interleaved N times (default 200) by one client, so that the drift of the
# host hits all three alike. Prints medians, p90 and the ratios. Needs the
# service up (quickstart.sh; URL=http://127.0.0.1:8080, nginx's rate limit
# high enough: SANDBOX_RATE=100000r/s).
set -euo pipefail
n=${1:-200}
url=${URL:-http://127.0.0.1:8080}
curl -fsS "$url/api/sandbox/health" >/dev/null || { echo "service not up at $url" >&2; exit 1; }
echo "# bench/session.sh $n; $(date -u +%FT%TZ) $(uname -r) $(nproc) cpus; $url"
/usr/bin/python3 - "$n" "$url" <<'PY'
import http.client, json, statistics as st, sys, time, urllib.parse
n, url = int(sys.argv[1]), urllib.parse.urlparse(sys.argv[2])
conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=60)
H = {"Content-Type": "application/json"}
PRINT1 = json.dumps({"runtime": "python", "code": "print(1)"}).encode()

def call(method, path, body=None, want=200):
    conn.request(method, "/api/sandbox/" + path, body=body, headers=H if body else {})
    r = conn.getresponse()
    data = r.read()
    if r.status != want:
        sys.exit("%s %s: %d %s" % (method, path, r.status, data[:300]))
    return json.loads(data) if data else None

def timed(f):
    t = time.monotonic()
    v = f()
    return (time.monotonic() - t) * 1000, v

def run_ok(res):
    if res["status"] != "success" or res["stdout"] != "1\n":
        sys.exit("run failed: %r" % res)
    return res

def create():
    return call("POST", "sessions", b"{}", 201)["session_id"]

warm = create()
for _ in range(5):   # warm the pool, the page cache and the session
    run_ok(call("POST", "run", PRINT1))
    run_ok(call("POST", "sessions/%s/run" % warm, PRINT1))
one, ses, crt, cr, dele = [], [], [], [], []
for i in range(n):
    one.append(timed(lambda: run_ok(call("POST", "run", PRINT1)))[0])
    ses.append(timed(lambda: run_ok(call("POST", "sessions/%s/run" % warm, PRINT1)))[0])
    t_c, sid = timed(create)
    t_r, _ = timed(lambda: run_ok(call("POST", "sessions/%s/run" % sid, PRINT1)))
    crt.append(t_c)
    cr.append(t_c + t_r)
    dele.append(timed(lambda: call("DELETE", "sessions/" + sid, want=204))[0])
call("DELETE", "sessions/" + warm, want=204)

def p(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * q))]

rows = [("one-shot POST /run", one), ("run in a session", ses), ("create session", crt),
        ("create + run", cr), ("delete session", dele)]
print("%-22s %9s %9s %9s" % ("ms (n=%d)" % n, "median", "p90", "vs one-shot"))
m1 = st.median(one)
for name, v in rows:
    print("%-22s %9.2f %9.2f %9s" % (name, st.median(v), p(v, .9),
                                      "" if v is one or v is crt or v is dele
                                      else "%.2fx" % (st.median(v) / m1)))
print("overhead over one-shot (medians): session run %+.2f ms, create + run %+.2f ms"
      % (st.median(ses) - m1, st.median(cr) - m1))
PY
