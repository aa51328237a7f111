"""bench/warm.py URL ROUNDS SECONDS: see bench/warm.sh."""
import http.client
import json
import os
import random
import statistics as st
import sys
import threading
import time
import urllib.parse

url, rounds, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
u = urllib.parse.urlparse(url)
PY = "/usr/bin/python3"
ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
WARM = {"runtime": "python", "code": "print(1)"}
COLD = dict(WARM, entrypoint="/usr/bin/python3 main.py")


def post(req):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    t = time.monotonic()
    c.request("POST", "/api/sandbox/run", json.dumps(req), {"Content-Type": "application/json"})
    r = c.getresponse()
    body = r.read()
    dt = time.monotonic() - t
    c.close()
    if r.status != 200:
        raise SystemExit("HTTP %d: %s" % (r.status, body[:300]))
    a = json.loads(body)
    if a["status"] != "success":
        raise SystemExit("run failed: %s" % a)
    return dt, a


def bare():
    t = time.monotonic()
    pid = os.posix_spawn(PY, [PY, "-c", "print(1)"], ENV,
                         file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
    os.waitpid(pid, 0)
    return time.monotonic() - t


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def ms(x):
    return "%.2f" % (x * 1000)


# 1. one client, interleaved
lat = {"warm": [], "cold": [], "bare": []}
hits = 0
for i in range(rounds):
    order = ["warm", "cold", "bare"]
    random.shuffle(order)
    for m in order:
        if m == "bare":
            lat[m].append(bare())
        else:
            dt, a = post(WARM if m == "warm" else COLD)
            if m == "warm":
                lat[m].append(dt)
                hits += a["warm"]
            else:
                assert not a["warm"], a
                lat[m].append(dt)
b50 = st.median(lat["bare"])
print("\n1. one client, interleaved (%d rounds, random order per round)" % rounds)
print("method  p50_ms  p10_ms  p90_ms  p99_ms  p50/bare")
for m in ("warm", "cold", "bare"):
    v = lat[m]
    print("%-6s %7s %7s %7s %7s %9.2f" % (m, ms(st.median(v)), ms(pct(v, .1)), ms(pct(v, .9)),
                                         ms(pct(v, .99)), st.median(v) / b50))
print("warm requests served warm: %d/%d" % (hits, rounds))

# 2. back to back
v, h = [], 0
for i in range(rounds):
    dt, a = post(WARM)
    v.append(dt)
    h += a["warm"]
print("\n2. one client, warm requests back to back: p50 %s ms, p90 %s ms, served warm %d/%d"
      % (ms(st.median(v)), ms(pct(v, .9)), h, rounds))


# 3. saturated
def load(c, fn, seconds):
    out, lock = [], threading.Lock()
    stop = time.monotonic() + seconds

    def w():
        while time.monotonic() < stop:
            x = fn()
            with lock:
                out.append(x)
    ts = [threading.Thread(target=w) for _ in range(c)]
    t0 = time.monotonic()
    [t.start() for t in ts]
    [t.join() for t in ts]
    return out, time.monotonic() - t0


print("\n3. saturated, %g s each, interleaved (bare, e2e) per concurrency, 2 rounds" % secs)
print("clients round  bare/s  e2e/s  e2e/bare  bare_p50  e2e_p50  e2e_p99  warm_hits")
for c in (2, 4):
    for r in (1, 2):
        bl, bt = load(c, bare, secs)
        el, et = load(c, lambda: post(WARM), secs)
        e = [x[0] for x in el]
        wh = sum(x[1]["warm"] for x in el)
        print("%7d %5d %7.1f %6.1f %9.2f %9s %8s %8s %6d/%d" % (
            c, r, len(bl) / bt, len(e) / et, (len(e) / et) / (len(bl) / bt),
            ms(st.median(bl)), ms(st.median(e)), ms(pct(e, .99)), wh, len(e)))

# 4. mixed workload
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
c.request("GET", "/api/sandbox/runtimes")
tmpls = [t["name"] for t in json.loads(c.getresponse().read())["templates"]]
mix = [("python", {"runtime": "python", "code": "print(1)"}),
       ("node", {"runtime": "node", "code": "console.log(1)"}),
       ("bash", {"runtime": "bash", "code": "echo 1"})]
if "compilers" in tmpls:
    mix.append(("python@compilers", {"runtime": "python", "template": "compilers", "code": "print(1)"}))
weights = [4, 2, 1, 1][:len(mix)]
res = {k: [0, 0] for k, _ in mix}
random.seed(13)
jobs = random.choices(mix, weights, k=rounds * 2)
lock = threading.Lock()


def mixed(part):
    for k, rq in part:
        dt, a = post(rq)
        with lock:
            res[k][0] += 1
            res[k][1] += a["warm"]


ts = [threading.Thread(target=mixed, args=(jobs[i::2],)) for i in range(2)]
[t.start() for t in ts]
[t.join() for t in ts]
tot = sum(v[0] for v in res.values())
print("\n4. mixed workload, 2 clients, %d runs (weights %s): warm hits per kind" %
      (tot, dict(zip([k for k, _ in mix], weights))))
for k, (n, w) in res.items():
    print("  %-18s %4d runs, %4d warm (%.0f%%)" % (k, n, w, 100.0 * w / n if n else 0))
print("  all: hit rate %.2f; of the warm-eligible (python@minimal) %.2f" %
      (sum(v[1] for v in res.values()) / tot, res["python"][1] / max(1, res["python"][0])))
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
c.request("GET", "/api/sandbox/info")
print("  /info warm:", json.loads(c.getresponse().read())["warm"])
