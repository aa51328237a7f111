"""GET /api/sandbox/metrics: Prometheus text format, figures of the whole
pool (every responder writes one shared file), access restricted by nginx.

The values are checked exactly, as deltas against a scrape taken before a
known set of requests, from several scrapes (any responder may answer)."""
import json
import os
import re
import signal
import threading
import time

from conftest import POOL, wait_for, children, job_pids

TEMPLATE = os.environ.get("SANDBOX_TEMPLATE", "minimal")
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, ((label, value), ...)): float}; checks the format as it goes."""
    out = {}
    types = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram"), line
            types[name] = kind
            continue
        if line.startswith("# HELP ") or not line:
            continue
        m = LINE.match(line)
        assert m, "not a sample line: %r" % line
        labels = tuple(sorted(LABEL.findall(m.group(3) or "")))
        key = (m.group(1), labels)
        assert key not in out, "duplicate series %r" % (key,)
        out[key] = float(m.group(4))
        base = re.sub(r"_(bucket|sum|count)$", "", m.group(1))
        assert m.group(1) in types or base in types, "no TYPE for %s" % m.group(1)
    return out


def scrape(svc):
    r = svc.request("GET", "/api/sandbox/metrics")
    assert r.status == 200, r
    assert r.header("content-type").startswith("text/plain; version=0.0.4"), r.headers
    return parse(r.body.decode())


def val(m, name, **labels):
    return m.get((name, tuple(sorted(labels.items()))), 0.0)


def run_async(svc, req, results):
    t = threading.Thread(target=lambda: results.append(svc.run(req, timeout=60)))
    t.start()
    return t


def py(code):
    return {"runtime": "python", "code": code}


KNOWN = [
    py("print(1)\n"), py("print(2)\n"), py("print(3)\n"),
    {"runtime": "bash", "code": "exit 3\n"},
    {"runtime": "bash", "code": "sleep 5\n", "limits": {"wall_time_ms": 300}},
    {"runtime": "no-such-runtime", "code": "x"},
]


def test_metrics_cover_the_whole_pool_exactly(svc):
    assert svc.wait_pool()
    before = scrape(svc)
    results = []
    # Two at a time: while one responder runs a job, the other takes the
    # next, so both responders contribute to the figures.
    for i in range(0, len(KNOWN), 2):
        ts = [run_async(svc, req, results) for req in KNOWN[i:i + 2]]
        for t in ts:
            t.join(60)
    statuses = sorted(r.status for r in results)
    assert statuses == [200, 200, 200, 200, 200, 400], results
    bad = [r for r in results if r.status == 400][0].json["error"]["code"]
    run_status = sorted(r.json["status"] for r in results if r.status == 200)
    assert run_status == ["error", "success", "success", "success", "timeout"], run_status

    rt = lambda runtime, status: dict(runtime=runtime, template=TEMPLATE, status=status)
    for _ in range(6):
        after = scrape(svc)
        d = lambda name, **l: val(after, name, **l) - val(before, name, **l)
        assert d("sandbox_runs_total", **rt("python", "success")) == 3
        assert d("sandbox_runs_total", **rt("bash", "error")) == 1
        assert d("sandbox_runs_total", **rt("bash", "timeout")) == 1
        total = sum(v for (n, _), v in after.items() if n == "sandbox_runs_total") - \
            sum(v for (n, _), v in before.items() if n == "sandbox_runs_total")
        assert total == 5
        assert d("sandbox_requests_refused_total", code="400", reason=bad) == 1
        assert d("sandbox_run_duration_seconds_count", **rt("python", "success")) == 3
        assert d("sandbox_run_duration_seconds_bucket", le="+Inf", **rt("python", "success")) == 3
        # the timed-out run took at least its 0.3 s wall limit
        assert d("sandbox_run_duration_seconds_bucket", le="0.25", **rt("bash", "timeout")) == 0
        assert d("sandbox_run_duration_seconds_sum", **rt("bash", "timeout")) >= 0.3
        # every POST /run waited in the queue, the refused one included
        assert d("sandbox_queue_wait_seconds_count") == 6
        assert val(after, "sandbox_pool_size") == POOL
        assert val(after, "sandbox_responders") == POOL
        assert val(after, "sandbox_metrics_shared") == 1
        assert val(after, "sandbox_responders_busy") == 0
        assert val(after, "sandbox_rootfs_template_info", template=TEMPLATE,
                   version=os.path.basename(os.path.realpath(
                       os.path.join(os.environ.get("SANDBOX_ROOTFS_BASE",
                                                   "/var/lib/sandbox-fcgi/rootfs"),
                                    TEMPLATE, "current"))),
                   manifest=manifest_hash()) == 1


def manifest_hash():
    base = os.environ.get("SANDBOX_ROOTFS_BASE", "/var/lib/sandbox-fcgi/rootfs")
    with open(os.path.join(base, TEMPLATE, "current", "manifest.json")) as f:
        return json.load(f).get("hash", "")


def busy_pid(svc):
    busy = [r for r in svc.responders() if job_pids(r)]
    return busy[0] if len(busy) == 1 else None


def test_busy_responders_during_a_slow_run_and_after_its_responder_dies(svc):
    assert svc.wait_pool()
    assert val(scrape(svc), "sandbox_responders_busy") == 0
    results = []
    t = run_async(svc, {"runtime": "bash", "code": "sleep 30\n",
                        "limits": {"wall_time_ms": 30000}}, results)
    assert wait_for(lambda: busy_pid(svc), 10), "the job never started"
    # the other responder answers these scrapes: it sees the busy one
    for _ in range(3):
        m = scrape(svc)
        assert val(m, "sandbox_responders_busy") == 1
        assert val(m, "sandbox_responders") == POOL
        assert val(m, "sandbox_pool_size") == POOL
    counts = {k: v for k, v in m.items() if k[0] == "sandbox_runs_total"}
    # A responder that dies keeps its counters, not its busy flag.
    os.kill(busy_pid(svc), signal.SIGKILL)
    t.join(30)
    assert results and results[0].status == 502, results
    assert svc.wait_pool()
    # the dead pid no longer counts, at once; its replacement registers
    # when its start-up is done
    assert val(scrape(svc), "sandbox_responders_busy") == 0
    assert wait_for(lambda: val(scrape(svc), "sandbox_responders") == POOL, 10)
    m = scrape(svc)
    assert val(m, "sandbox_responders_busy") == 0
    assert {k: v for k, v in m.items() if k[0] == "sandbox_runs_total"} == counts


def test_head_on_metrics_has_headers_and_no_body(svc):
    r = svc.request("HEAD", "/api/sandbox/metrics")
    assert r.status == 200, r
    assert r.header("content-type").startswith("text/plain; version=0.0.4")
    assert r.body == b""


def test_metrics_refused_from_other_addresses(svc):
    """The shipped snippet allows 127.0.0.1 and ::1 only. A client bound
    to 127.0.0.2 (loopback, but not an allowed address) stands for any
    other host: 403 JSON from nginx, and the other endpoints still answer."""
    import http.client
    import socket

    def from_other(path):
        c = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=10,
                                       source_address=("127.0.0.2", 0))
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.getheader("content-type"), r.read()
        finally:
            c.close()

    status, ctype, body = from_other("/api/sandbox/metrics")
    assert status == 403, body
    assert ctype == "application/json"
    assert json.loads(body)["error"]["code"] == "forbidden"
    assert from_other("/api/sandbox/info")[0] == 200


def test_metrics_need_the_api_key_on_a_guarded_instance(svc):
    from conftest import API_KEY
    p = svc.guarded_port
    assert svc.request("GET", "/api/sandbox/metrics", port=p).status == 401
    time.sleep(1.1)   # the guarded instance's 2 r/s
    r = svc.request("GET", "/api/sandbox/metrics", port=p,
                    headers={"Authorization": "Bearer " + API_KEY})
    assert r.status == 200, r
