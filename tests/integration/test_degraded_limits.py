"""Finding 4 of issue 8, from the operator's and the HTTP client's side:
where cgroups cannot enforce every limit for the whole run (memory with its
tmpfs pages, process count, CPU time), the responder refuses to start, and
only an explicit --allow-degraded-limits starts it with per-process
rlimits, which /info and the log then admit (docs/SECURITY.md, cgroups)."""
import json
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

from conftest import ROOTFS_BASE, Service, find_binary, free_port, make_env

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


def undelegated():
    """A cgroup name (v1) / directory (v2) nobody made or delegated."""
    return "sandbox-undelegated-" + uuid.uuid4().hex[:6]


def test_responder_refuses_to_start_without_cgroup_limits(tmp_path):
    """The service user with no cgroup delegated to it: the responder exits
    at start-up (before it accepts anything), and its log names the jail's
    step and errno and how to accept per-process limits.  Before the fix it
    started and served with per-process rlimits (this run timed out)."""
    os.chmod(tmp_path, 0o755)
    binary = shutil.copy2(find_binary(), tmp_path / "sandbox-fcgi")   # reachable by nobody
    # The session state directory is checked first and must be nobody's
    # (outside tmp_path, whose parents nobody cannot search).
    state = tempfile.mkdtemp(prefix="sandbox-it-state-")
    os.chown(state, 65534, 65534)
    r = subprocess.run(NOBODY + [str(binary), "--socket", "127.0.0.1:%d" % free_port(),
                                 "--rootfs-base", ROOTFS_BASE, "--state-dir", str(state),
                                 "--cgroup", undelegated()],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
    assert r.returncode == 1, (r.returncode, r.stderr)
    line = json.loads(r.stderr.strip().splitlines()[-1])
    assert line["event"] == "sandbox.start.failed" and line["step"] == "jail_new", line
    assert line["jail_step"] in ("cgroup v1 detect", "cgroup v2 detect"), line
    assert line["errno"] in (2, 13) and "--allow-degraded-limits" in line["message"], line
    assert not any('"sandbox.start.ready"' in l for l in r.stderr.splitlines()), r.stderr
    shutil.rmtree(state)


@pytest.fixture(scope="module")
def degraded():
    """A pool of one responder told --allow-degraded-limits and a cgroup
    that was never delegated (the quick start's own delegation is ignored:
    the later --cgroup wins)."""
    state = tempfile.mkdtemp(prefix="sandbox-it-degraded-")
    os.chmod(state, 0o755)
    port = free_port()
    env = make_env(state, port, SANDBOX_POOL=1, SANDBOX_QUEUE=1)
    env["SANDBOX_FCGI_ARGS"] += " --cgroup %s --allow-degraded-limits" % undelegated()
    s = Service(state, env)
    try:
        s.ctl("start", "60")
        yield s
    finally:
        s.ctl("stop")
        shutil.rmtree(state, ignore_errors=True)


def test_degraded_pool_says_so_in_info_and_log(degraded, svc):
    info = degraded.request("GET", "/api/sandbox/info").json
    iso = info["isolation"]
    assert iso["cgroup"] == "none" and iso["limits_degraded"] is True, iso
    assert iso["degraded_limits"] == ["memory_mb", "max_processes", "cpu_time_ms"], iso
    assert not iso["memory_limit"] and not iso["pids_limit"], iso
    logs = degraded.logs()
    warn = [l for l in logs if l.get("event") == "sandbox.start.limits_degraded"]
    assert warn and warn[0]["level"] == "warning", logs[-5:]
    assert warn[0]["degraded_limits"] == iso["degraded_limits"], warn[0]
    ready = [l for l in logs if l.get("event") == "sandbox.start.ready"]
    assert ready and ready[-1]["limits_degraded"] is True, ready
    r = degraded.run({"runtime": "bash", "code": "echo hi"})
    assert r.status == 200 and r.json["stdout"] == "hi\n", r
    # The delegated pool (the quick start's setup) claims every limit, and holds them.
    iso = svc.request("GET", "/api/sandbox/info").json["isolation"]
    assert iso["limits_degraded"] is False and iso["degraded_limits"] == [], iso
    assert iso["memory_limit"] and iso["pids_limit"] and iso["cpu_accounting"], iso
