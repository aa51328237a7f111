"""Each limit of a run: the program's fate is a 200 with the right status."""


def run(svc, code, limits, runtime="python"):
    r = svc.run({"runtime": runtime, "code": code, "limits": limits}, timeout=60)
    assert r.status == 200, r
    return r.json


def test_wall_time(svc):
    d = run(svc, "import time\ntime.sleep(30)\n", {"wall_time_ms": 500})
    assert d["status"] == "timeout", d
    assert d["execution_time_ms"] < 5000


def test_cpu_time(svc):
    d = run(svc, "while True:\n    pass\n", {"cpu_time_ms": 300, "wall_time_ms": 10000})
    assert d["status"] == "timeout", d
    assert d["execution_time_ms"] < 8000


def test_memory(svc):
    info = svc.request("GET", "/api/sandbox/info").json
    if not info["isolation"]["memory_limit"]:
        import pytest
        pytest.skip("no cgroup memory controller in effect (see /info)")
    d = run(svc, "b = bytearray(400 * 1024 * 1024)\nb[::4096] = b'x' * len(b[::4096])\nprint('survived')\n",
            {"memory_mb": 64})
    assert d["status"] in ("memory_limit", "killed"), d
    assert "survived" not in d["stdout"]


def test_max_processes(svc):
    d = run(svc, "for i in $(seq 50); do sleep 2 & done; wait; echo done\n",
            {"max_processes": 8}, runtime="bash")
    assert "fork" in d["stderr"] or "Resource temporarily unavailable" in d["stderr"], d


def test_max_output_bytes(svc):
    d = run(svc, "import sys\nsys.stdout.write('x' * 100000)\n", {"max_output_bytes": 1024})
    assert d["stdout_truncated"] is True, d
    assert len(d["stdout"]) <= 1024
