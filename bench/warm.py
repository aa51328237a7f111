"""bench/warm.py URL ROUNDS SECONDS, or --bare C SECONDS: see bench/warm.sh."""
import http.client
import json
import os
import random
import statistics as st
import sys
import threading
import time
import urllib.parse

# A pause after each measurement of section 1 (a user's think time): the
# responder prepares the next jail and warm interpreter after each answer,
# and that work must not overlap the next measurement, whichever method.
GAP = float(os.environ.get("GAP_S", "0.05"))
nowarm = os.environ.get("NOWARM_URL") or None
nu = urllib.parse.urlparse(nowarm) if nowarm else None
ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
# BENCH_RUNTIME=node: node's console.log(1) instead of Python's print(1).
# The bare launch is the jail's own node (the RootFS's, BARE_TREE; the
# host's node may be another version), launched by a helper process that
# chroot()ed into the tree once (Debian's node reads its builtins from
# /usr/share/nodejs), so a launch costs no more than a posix_spawn.
RUNTIME = os.environ.get("BENCH_RUNTIME", "python")
TREE = os.environ.get("BARE_TREE", "/var/lib/sandbox-fcgi/rootfs/minimal/current/tree")
if RUNTIME == "node":
    BARE = ["/usr/bin/node", "-e", "console.log(1)"]
    WARM = {"runtime": "node", "code": "console.log(1)"}
    COLD = dict(WARM, entrypoint="/usr/bin/node main.js")
else:
    BARE = ["/usr/bin/python3", "-c", "print(1)"]
    WARM = {"runtime": "python", "code": "print(1)"}
    COLD = dict(WARM, entrypoint="/usr/bin/python3 main.py")


def post(req, where=None):
    where = where or u
    c = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
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


# The host's /dev/null, opened before any chroot (enter_tree): in the tree
# /dev/null is the jail's mount point, a plain file of the RootFS, and a
# launch writing there (as root) would change the RootFS (once it did:
# verify-rootfs.sh then failed on its content hash).
DEVNULL = os.open("/dev/null", os.O_WRONLY | os.O_CLOEXEC)


def bare_here():
    t = time.monotonic()
    pid = os.posix_spawn(BARE[0], BARE, ENV,
                         file_actions=[(os.POSIX_SPAWN_DUP2, DEVNULL, 1)])
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise SystemExit("bare launch failed: %s" % BARE)
    return time.monotonic() - t


_helper = None


def bare():
    """One bare launch: here, or (node) in the chroot()ed helper."""
    global _helper
    if RUNTIME != "node":
        return bare_here()
    if _helper is None:
        import subprocess
        _helper = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--bare-server"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    _helper.stdin.write("\n")
    _helper.stdin.flush()
    return float(_helper.stdout.readline())


def enter_tree():
    if RUNTIME == "node":
        os.chroot(TREE)
        os.chdir("/")


def saturated_bare(c, secs):
    """warm.py --bare C SECONDS: C threads launching BARE for SECONDS;
    prints "rate p50_ms p99_ms" (for warm.sh's section 3)."""
    lat, lock, stop = [], threading.Lock(), time.monotonic() + secs

    def worker():
        while time.monotonic() < stop:
            dt = bare_here()
            with lock:
                lat.append(dt)
    ts = [threading.Thread(target=worker) for _ in range(c)]
    t0 = time.monotonic()
    [t.start() for t in ts]
    [t.join() for t in ts]
    el = time.monotonic() - t0
    lat.sort()
    print("%.1f %.2f %.2f" % (len(lat) / el, lat[len(lat) // 2] * 1000, lat[int(len(lat) * .99)] * 1000))


if sys.argv[1] == "--bare":
    enter_tree()
    saturated_bare(int(sys.argv[2]), float(sys.argv[3]))
    sys.exit(0)
if sys.argv[1] == "--bare-server":
    enter_tree()
    for _ in sys.stdin:
        print(bare_here(), flush=True)
    sys.exit(0)
url, rounds, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
u = urllib.parse.urlparse(url)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def ms(x):
    return "%.2f" % (x * 1000)


# 1. one client, interleaved
lat = {"warm": [], "cold": [], "bare": [], "nowarm": []}
hits = 0
for i in range(rounds):
    order = ["warm", "cold", "bare"] + (["nowarm"] if nu else [])
    random.shuffle(order)
    for m in order:
        time.sleep(GAP)
        if m == "bare":
            lat[m].append(bare())
        elif m == "nowarm":
            dt, a = post(WARM, nu)
            assert not a["warm"], a
            lat[m].append(dt)
        else:
            dt, a = post(WARM if m == "warm" else COLD)
            if m == "warm":
                lat[m].append(dt)
                hits += a["warm"]
            else:
                assert not a["warm"], a
                lat[m].append(dt)
b50 = st.median(lat["bare"])
print("\n1. one client, %s, interleaved (%d rounds, random order per round, %g s pause before each)"
      % (RUNTIME, rounds, GAP))
print("   bare: %s%s" % (" ".join(BARE), " (in %s)" % TREE if RUNTIME == "node" else ""))
print("method  p50_ms  p10_ms  p90_ms  p99_ms  p50/bare")
for m in ("warm", "cold", "nowarm", "bare"):
    v = lat[m]
    if not v:
        continue
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


# 4. mixed workload (3. is wrk's, in warm.sh)
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
print("  all: hit rate %.2f" % (sum(v[1] for v in res.values()) / tot))
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
c.request("GET", "/api/sandbox/info")
print("  /info warm:", json.loads(c.getresponse().read())["warm"])
