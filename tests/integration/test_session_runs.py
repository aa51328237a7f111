"""Session runs through nginx and the pool: POST /api/sandbox/sessions/{id}/run
(issue 10, docs/SESSIONS.md). The workspace is copied into the run's /work,
committed back after it; the quota holds during the run; the lock makes a
concurrent run a 409; a DELETE kills a run in progress; and the jail's
isolation holds in a session as in a one-shot run."""
import json
import os
import threading
import time

from conftest import descendants, job_pids, wait_for, warm_waiting, zygote

JSON = {"Content-Type": "application/json"}
BIN = {"Content-Type": "application/octet-stream"}


def sessions_dir(svc):
    return svc.state / "state" / "sessions"


def create(svc, **body):
    r = svc.request("POST", "/api/sandbox/sessions", json.dumps(body).encode(), JSON)
    assert r.status == 201, r
    return r.json["session_id"]


def srun(svc, sid, body, timeout=60):
    return svc.request("POST", "/api/sandbox/sessions/%s/run" % sid, json.dumps(body).encode(),
                       JSON, timeout=timeout)


def put(svc, sid, path, data):
    r = svc.request("PUT", "/api/sandbox/sessions/%s/files/%s" % (sid, path), data, BIN)
    assert r.status in (200, 201), r
    return r


def get(svc, sid, path):
    return svc.request("GET", "/api/sandbox/sessions/%s/files/%s" % (sid, path))


def listing(svc, sid):
    r = svc.request("GET", "/api/sandbox/sessions/%s/files" % sid)
    assert r.status == 200, r
    return {e["name"]: e for e in r.json["entries"]}


def delete(svc, sid):
    return svc.request("DELETE", "/api/sandbox/sessions/%s" % sid)


def host_work(svc, sid):
    return sessions_dir(svc) / sid / "work"


def test_run_reads_upload_and_writes_a_downloadable_output(svc):
    sid = create(svc)
    put(svc, sid, "in.txt", b"hello session\n")
    r = srun(svc, sid, {"runtime": "python",
                        "code": "open('out.txt','w').write(open('in.txt').read().upper())"})
    assert r.status == 200 and r.json["status"] == "success", r
    s = r.json["session"]
    assert s["id"] == sid and s["committed"] is True and s["quota_exceeded"] is False, s
    assert s["bytes_used"] == 3 * 4096      # in.txt, main.py, out.txt
    d = get(svc, sid, "out.txt")
    assert d.status == 200 and d.body == b"HELLO SESSION\n", d
    logs = [l for l in svc.logs() if l.get("event") in ("sandbox.run.start", "sandbox.run.finish")
            and l.get("session_id") == sid]
    assert {l["event"] for l in logs} == {"sandbox.run.start", "sandbox.run.finish"}, logs
    assert delete(svc, sid).status == 204


def test_files_persist_across_runs_and_a_pool_restart(svc):
    sid = create(svc)
    r = srun(svc, sid, {"entrypoint": ["sh", "-c", "mkdir -p d && echo one > d/a.txt"]})
    assert r.status == 200 and r.json["status"] == "success", r
    r = srun(svc, sid, {"entrypoint": ["sh", "-c", "cat d/a.txt; echo two >> d/a.txt"]})
    assert r.json["stdout"] == "one\n", r
    svc.ctl("stop-pool")
    svc.ctl("start-pool")
    assert svc.wait_pool(timeout=30)
    r = wait_for(lambda: (lambda x: x if x.status == 200 else None)(
        srun(svc, sid, {"entrypoint": ["cat", "d/a.txt"]})), 30, 0.2)
    assert r and r.json["stdout"] == "one\ntwo\n", r
    meta = svc.request("GET", "/api/sandbox/sessions/%s" % sid).json
    assert meta["runs"] == 3, meta
    assert delete(svc, sid).status == 204


def test_plain_entrypoint_command(svc):
    sid = create(svc)
    put(svc, sid, "data.csv", b"a,b\n")
    r = srun(svc, sid, {"entrypoint": ["ls", "-l"]})
    assert r.status == 200 and r.json["status"] == "success", r
    assert "data.csv" in r.json["stdout"], r
    # A string entrypoint is split as POST /run splits it; args are appended.
    r = srun(svc, sid, {"entrypoint": "cat", "args": ["data.csv"]})
    assert r.json["stdout"] == "a,b\n", r
    # code without a runtime has nothing to run it: refused, naming the field.
    r = srun(svc, sid, {"entrypoint": "ls", "code": "x"})
    assert r.status == 400 and r.json["error"]["field"] == "code", r
    # An input file whose path clashes with the workspace: the client's 400.
    r = srun(svc, sid, {"entrypoint": ["sh", "-c", "mkdir -p d; ln -s /tmp l"]})
    assert r.json["session"]["committed"] is True, r
    for path in ("d", "l/x", "data.csv/x"):
        r = srun(svc, sid, {"entrypoint": "ls", "files": [{"path": path, "content": "x"}]})
        assert r.status == 400 and r.json["error"]["field"] == "files", (path, r)
    r = srun(svc, sid, {"template": "compilers", "entrypoint": "ls"})
    assert r.status == 400 and r.json["error"]["field"] == "template", r
    assert delete(svc, sid).status == 204


def test_session_defaults_for_env_and_limits(svc):
    sid = create(svc, env={"FOO": "session", "BAR": "b"}, limits={"wall_time_ms": 1500})
    r = srun(svc, sid, {"entrypoint": ["sh", "-c", "echo $FOO $BAR; sleep 5"]})
    assert r.json["status"] == "timeout" and r.json["stdout"] == "session b\n", r
    r = srun(svc, sid, {"entrypoint": ["sh", "-c", "echo $FOO $BAR"], "env": {"FOO": "mine"},
                        "limits": {"wall_time_ms": 5000}})
    assert r.json["status"] == "success" and r.json["stdout"] == "mine b\n", r
    assert delete(svc, sid).status == 204


def test_concurrent_runs_one_is_409_and_the_workspace_is_whole(svc):
    sid = create(svc)
    results = []

    def go(n):
        results.append(srun(svc, sid, {"entrypoint": [
            "sh", "-c", "for i in $(seq 1 20); do echo %d-$i >> log.txt; sleep 0.05; done" % n]}))

    ts = [threading.Thread(target=go, args=(n,)) for n in (1, 2)]
    for t in ts:
        t.start()
        time.sleep(0.2)
    for t in ts:
        t.join()
    statuses = sorted(r.status for r in results)
    assert statuses == [200, 409], results
    busy = [r for r in results if r.status == 409][0]
    assert busy.json["error"]["code"] == "session_busy" and busy.header("retry-after") == "1"
    lines = get(svc, sid, "log.txt").body.decode().splitlines()
    assert len(lines) == 20 and len({l.split("-")[0] for l in lines}) == 1, lines
    assert delete(svc, sid).status == 204


def test_quota_reached_during_a_run_keeps_earlier_files(svc):
    sid = create(svc, disk_mb=1)
    keep = b"precious\n" * 30000      # 270 kB
    put(svc, sid, "keep.txt", keep)
    r = srun(svc, sid, {"entrypoint": ["sh", "-c",
                                       ": > keep.txt; head -c 2000000 /dev/zero > big; echo rc=$?"]})
    assert r.status == 200 and "rc=1" in r.json["stdout"], r
    assert "No space left" in r.json["stderr"], r
    s = r.json["session"]
    assert s["quota_exceeded"] is True and s["committed"] is False, s
    assert get(svc, sid, "keep.txt").body == keep
    assert set(listing(svc, sid)) == {"keep.txt"}
    assert not (sessions_dir(svc) / sid / "work.new").exists()
    # Hard links: one inode in the run, two files once copied back, over the
    # quota: not committed either.
    r = srun(svc, sid, {"entrypoint": ["sh", "-c", "head -c 400000 /dev/zero > a && ln a b && ln a c"]})
    assert r.json["status"] == "success" and r.json["session"]["quota_exceeded"] is True, r
    assert set(listing(svc, sid)) == {"keep.txt"}
    assert delete(svc, sid).status == 204


def test_planted_links_fifos_and_hard_links(svc):
    sid = create(svc)
    secret = svc.state / "host-secret.txt"
    secret.write_text("HOST SECRET")
    r = srun(svc, sid, {"entrypoint": ["sh", "-c",
                                       "ln -s %s leak; ln -s /etc/passwd pw; ln -s / root; mkfifo fifo;"
                                       " echo data > a; ln a b; echo ok" % secret]})
    assert r.json["stdout"] == "ok\n" and r.json["session"]["committed"] is True, r
    entries = listing(svc, sid)
    assert set(entries) == {"leak", "pw", "root", "a", "b"}, entries
    assert entries["leak"]["type"] == "symlink" and entries["root"]["type"] == "symlink"
    for name in ("leak", "pw", "root"):
        d = get(svc, sid, name)
        assert d.status in (400, 403) and b"HOST SECRET" not in d.body, d
    for name in ("a", "b"):
        d = get(svc, sid, name)
        assert d.status == 200 and d.body == b"data\n", d
    w = host_work(svc, sid)
    assert os.readlink(w / "leak") == str(secret)
    a, b = os.lstat(w / "a"), os.lstat(w / "b")
    assert a.st_nlink == 1 and b.st_nlink == 1 and a.st_ino != b.st_ino
    # The next run gets the links as links: writing through one reaches
    # only the jail's own tree (read-only there), never the host file.
    r = srun(svc, sid, {"entrypoint": ["sh", "-c", "cat leak; echo pwned > leak; echo x > root/x; echo done"]})
    assert "HOST SECRET" not in json.dumps(r.json) and "done" in r.json["stdout"], r
    assert secret.read_text() == "HOST SECRET"
    assert delete(svc, sid).status == 204


def test_delete_during_a_run_kills_it(svc):
    sid = create(svc)
    put(svc, sid, "keep.txt", b"keep")
    out = {}

    def go():
        t0 = time.monotonic()
        out["r"] = srun(svc, sid, {"entrypoint": ["sh", "-c", "echo started; sleep 30"],
                                   "limits": {"wall_time_ms": 40000}})
        out["t"] = time.monotonic() - t0

    t = threading.Thread(target=go)
    t.start()
    assert wait_for(lambda: any(job_pids(p) for p in svc.responders()), 10)
    d = delete(svc, sid)
    t.join(30)
    assert d.status == 204, d
    r = out["r"]
    assert r.status == 200 and r.json["status"] == "killed", r
    assert r.json["session"]["deleted"] is True and r.json["session"]["committed"] is False
    assert out["t"] < 15, out
    assert wait_for(lambda: not any(job_pids(p) for p in svc.responders()), 10)
    assert not any(n.startswith(".del-") or n == sid for n in os.listdir(sessions_dir(svc)))
    assert srun(svc, sid, {"entrypoint": "ls"}).status == 404


def test_isolation_holds_in_a_session(svc):
    a = create(svc)
    b = create(svc)
    put(svc, a, "secret-of-a.txt", b"SECRET OF A")
    sdir = sessions_dir(svc)
    r = srun(svc, b, {"entrypoint": ["sh", "-c",
                                     "cat %s/%s/work/secret-of-a.txt; ls %s; ls /work;"
                                     " find / -xdev -name 'secret-of-a*' 2>/dev/null; echo end"
                                     % (sdir, a, sdir)],
                      "limits": {"wall_time_ms": 20000}})
    assert r.status == 200 and r.json["stdout"].endswith("end\n"), r
    assert "SECRET OF A" not in json.dumps(r.json)
    assert "secret-of-a.txt" not in r.json["stdout"]
    assert "No such file" in r.json["stderr"]
    assert delete(svc, a).status == 204 and delete(svc, b).status == 204


def _mounts(pids):
    n = 0
    for p in pids:
        try:
            with open("/proc/%d/mountinfo" % p) as f:
                n += len(f.readlines())
        except OSError:
            pass
    return n


def test_workspace_counts_in_the_runs_memory(svc):
    """The copy-in is charged to the run's cgroup, not to the pool's: a
    workspace larger than the run's memory limit is a 400 naming the limit,
    and the pool is unharmed."""
    sid = create(svc, disk_mb=64)
    put(svc, sid, "big.bin", b"\0" * (24 << 20))
    r = srun(svc, sid, {"entrypoint": "true", "limits": {"memory_mb": 16}})
    assert r.status == 400 and r.json["error"]["field"] == "limits.memory_mb", r
    r = srun(svc, sid, {"entrypoint": ["stat", "-c", "%s", "big.bin"], "limits": {"memory_mb": 64}})
    assert r.status == 200 and r.json["stdout"] == "%d\n" % (24 << 20), r
    assert delete(svc, sid).status == 204


def test_hundred_sessions_leave_nothing_behind(svc):
    before_cg = set(svc.cgroup_leftovers())
    before = set(os.listdir(sessions_dir(svc)))   # other tests' sessions
    responders = svc.responders()
    mounts_before = _mounts(responders)
    ids = []
    for i in range(100):
        sid = create(svc, disk_mb=1)
        ids.append(sid)
        r = srun(svc, sid, {"runtime": "python", "code": "print(%d)" % i})
        assert r.status == 200 and r.json["stdout"] == "%d\n" % i, r
    for sid in ids:
        assert delete(svc, sid).status == 204
    assert wait_for(lambda: set(os.listdir(sessions_dir(svc))) <= before, 10), \
        set(os.listdir(sessions_dir(svc))) - before
    assert wait_for(lambda: not any(job_pids(p) for p in svc.responders()), 10)
    assert set(svc.cgroup_leftovers()) <= before_cg
    assert svc.responders() == responders
    # Each responder holds its prepared next job's mounts: the count is
    # the same as before, not one more per session.
    assert _mounts(responders) == mounts_before
    for p in responders:   # its prepared pid 1, its warm interpreter, its zygote
        left = [d for d in descendants(p) if not warm_waiting(d) and not zygote(d)]
        assert len(left) <= 1, descendants(p)


def test_answers_match_the_openapi_document(svc):
    from test_openapi import DOC_PATH, check_answer
    doc = json.loads(DOC_PATH.read_text())
    path = "/api/sandbox/sessions/{id}/run"
    sid = create(svc, disk_mb=1)
    check_answer(doc, path, "post", srun(svc, sid, {"entrypoint": ["echo", "hi"]}))
    r = srun(svc, sid, {"entrypoint": ["sh", "-c", "head -c 2000000 /dev/zero > big"]})
    assert r.json["session"]["quota_exceeded"] is True
    check_answer(doc, path, "post", r)
    r = srun(svc, sid, {"entrypoint": "ls", "limits": {"wall_time_ms": 0}})
    assert r.status == 400
    check_answer(doc, path, "post", r)
    r = srun(svc, sid, {"entrypoint": "ls", "files": [{"path": "f", "content": "x" * 1100000}]})
    assert r.status == 413 and r.json["error"]["code"] == "quota_exceeded", r
    check_answer(doc, path, "post", r)
    r = srun(svc, "0" * 32, {"entrypoint": "ls"})
    assert r.status == 404
    check_answer(doc, path, "post", r)
    r = srun(svc, "nothex", {"entrypoint": "ls"})
    assert r.status == 400 and r.json["error"]["code"] == "invalid_session_id", r
    check_answer(doc, path, "post", r)
    assert delete(svc, sid).status == 204


def sizes_alternate(svc, rounds):
    """One-shot and session runs in turn: each sees its own /work and /tmp
    sizes (the operator's 64 MiB; the session's 1 MiB quota)."""
    sid = create(svc, disk_mb=1)
    size = "import os; s = os.statvfs('/work'); t = os.statvfs('/tmp'); print(s.f_blocks * s.f_frsize, t.f_blocks * t.f_frsize)"
    for _ in range(rounds):
        r = svc.run({"runtime": "python", "code": size})
        assert r.json["stdout"] == "%d %d\n" % (64 << 20, 64 << 20), r
        r = srun(svc, sid, {"runtime": "python", "code": size})
        assert r.json["stdout"] == "%d %d\n" % (1 << 20, 64 << 20), r
    assert delete(svc, sid).status == 204


def test_work_size_is_each_runs_own(svc):
    """A responder prepares the next job's mounts with the last job's sizes
    and resizes them when the next job differs: a session run's /work is its
    quota, a one-shot run's the operator's size, whichever came before."""
    sizes_alternate(svc, 4)


def test_work_size_is_each_runs_own_without_warm_interpreters():
    """As above on a responder that keeps no interpreter warm: there the
    prepared stage is not thrown away for other sizes but resized
    (src/jail/mount.c, mnt_run_resize: detached mounts through fspick),
    and each run must still get its own sizes."""
    from test_warm_node import start_pool, stop_pool
    s = start_pool("--warm-runtime none", 1)
    try:
        sizes_alternate(s, 3)
    finally:
        stop_pool(s)


def test_handler_mode_in_a_session_has_its_context(svc):
    """A Lambda-style handler run in a session gets the same context as on
    POST /run: this request's id and the time left of its wall limit."""
    sid = create(svc)
    code = "def handler(event, context):\n    return {'ctx': context, 'event': event}\n"
    r = srun(svc, sid, {"runtime": "python", "code": code, "event": {"x": 1},
                        "limits": {"wall_time_ms": 5000}})
    assert r.status == 200, r
    d = r.json
    assert d["status"] == "success", d
    ctx = d["result"]["ctx"]
    assert ctx["request_id"] == d["request_id"] == r.header("x-request-id"), d
    assert 0 < ctx["remaining_time_ms"] <= 5000, ctx
    assert d["result"]["event"] == {"x": 1}
    delete(svc, sid)
