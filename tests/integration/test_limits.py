"""Each limit of a run: the program's fate is a 200 with the right status."""


def run(svc, code, limits, runtime="python"):
    r = svc.run({"runtime": runtime, "code": code, "limits": limits}, timeout=60)
    assert r.status == 200, r
    return r.json


def test_wall_time(svc):
    d = run(svc, "import time\ntime.sleep(30)\n", {"wall_time_ms": 500})
    assert d["status"] == "timeout", d
    # not before the limit; generous above it (a loaded machine)
    assert 500 <= d["execution_time_ms"] < 5000, d


def test_execution_time_is_the_programs(svc):
    """execution_time_ms is the program's wall time in ms: a 300 ms sleep
    reads as 300 ms and more, not its start-up alone, nor µs, nor the wall
    limit."""
    d = run(svc, "import time\ntime.sleep(0.3)\n", {"wall_time_ms": 10000})
    assert d["status"] == "success", d
    assert 300 <= d["execution_time_ms"] < 300 + 3000, d


def test_cpu_time(svc):
    d = run(svc, "while True:\n    pass\n", {"cpu_time_ms": 300, "wall_time_ms": 10000})
    assert d["status"] == "timeout", d
    # one busy thread: its wall time is at least its CPU time
    assert 300 <= d["cpu_time_ms"] and 300 <= d["execution_time_ms"] < 8000, d


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
    """limits.max_processes N: the program gets N processes, itself
    included; the (N+1)th fork fails with EAGAIN (11)."""
    code = ("import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
            "            time.sleep(3)\n            os._exit(0)\n        n += 1\n"
            "except OSError as e:\n    print('stopped', n, e.errno)\n")
    d = run(svc, code, {"max_processes": 8})
    assert d["status"] == "success" and d["stdout"] == "stopped 7 11\n", d


def test_max_output_bytes(svc):
    d = run(svc, "import sys\nsys.stdout.write('x' * 100000)\n", {"max_output_bytes": 1024})
    assert d["stdout_truncated"] is True, d
    assert len(d["stdout"]) <= 1024
