"""Sessions over HTTP (issue 10): persistent workspaces served by the
stateless pool, through real nginx and a real responder pool of its own
(small upload cap and disk maximum), its state directory checked on disk.
Every answer is validated against docs/openapi.json (test_openapi.py's
check_answer). The session run endpoint (POST .../run) is the jail
integration's and is tested there."""
import fcntl
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import Service, free_port, make_env, wait_for
from test_openapi import check_answer

PREFIX = "/api/sandbox/sessions"
UPLOAD_CAP = 3 << 20
DISK_MAX_MB = 64


@pytest.fixture(scope="module")
def doc():
    return json.loads((pathlib.Path(__file__).resolve().parents[2] / "docs" /
                       "openapi.json").read_text())


@pytest.fixture(scope="module")
def ses():
    state = pathlib.Path(tempfile.mkdtemp(prefix="sandbox-it-ses-"))
    os.chmod(state, 0o755)
    s = Service(state, make_env(state, free_port(), SANDBOX_FCGI_ARGS=(
        "--queue-timeout-ms 5000 --max-upload-bytes %d --max-session-disk-mb %d "
        "--trust-session-id-param"
        % (UPLOAD_CAP, DISK_MAX_MB))))
    s.sessions_dir = state / "state"
    try:
        s.ctl("start", "60")
    except subprocess.CalledProcessError:
        print(s.log_path.read_text() if s.log_path.exists() else "(no log)")
        s.ctl("stop")
        raise
    try:
        yield s
    finally:
        s.ctl("stop")
        shutil.rmtree(state, ignore_errors=True)


def op_path(path):
    """The documented path template of a concrete session URL."""
    parts = path.split("?")[0][len("/api/sandbox/"):].split("/")
    if len(parts) >= 2:
        parts[1] = "{id}"
    if len(parts) >= 4 and parts[2] == "files":
        parts = parts[:3] + ["{path}"]
    return "/api/sandbox/" + "/".join(parts)


def call(svc, doc, method, path, body=None, headers=None, status=None):
    r = svc.request(method, path, body, headers)
    if status is not None:
        assert r.status == status, (method, path, r)
    if r.status in (204,) or (method == "GET" and r.status == 200 and "/files/" in path):
        assert r.header("x-request-id")
        return r
    if method == "HEAD":
        return r
    documented = method.lower()
    if r.status == 405:
        # the 405 of a method the path lacks: every operation documents it
        documented = sorted(doc["paths"][op_path(path)])[0]
    check_answer(doc, op_path(path), documented, r)
    return r


def create(svc, doc, **body):
    r = call(svc, doc, "POST", PREFIX, json.dumps(body).encode(),
             {"Content-Type": "application/json"})
    assert r.status == 201, r
    return r.json


def put(svc, doc, sid, path, data, status=201):
    return call(svc, doc, "PUT", "%s/%s/files/%s" % (PREFIX, sid, path), data,
                {"Content-Type": "application/octet-stream"}, status)


def ses_dir(svc, sid):
    return svc.sessions_dir / "sessions" / sid


def work(svc, sid):
    return ses_dir(svc, sid) / "work"


def as_service_user(svc, *args):
    """sandbox-fcgi's operator commands as the timer runs them."""
    return subprocess.run(["runuser", "-u", "sandbox", "--", svc.env["SANDBOX_BIN"],
                           "--state-dir", str(svc.sessions_dir)] + list(args),
                          capture_output=True, text=True, timeout=60)


def host_snapshot(svc):
    """Every path under the pool's state directory outside the workspaces,
    and a few host places a traversal would aim at."""
    out = set()
    for p in svc.state.rglob("*"):
        if "/work/" not in str(p) and "/logs/" not in str(p) and "/nginx" not in str(p):
            out.add(str(p))
    for d in ("/etc", "/tmp", "/"):
        out |= {str(p) for p in pathlib.Path(d).iterdir() if p.name.startswith("x-ses-")}
    return out


# --- the whole life ------------------------------------------------------------

def test_whole_life(ses, doc):
    before = time.time()
    s = create(ses, doc)
    sid = s["session_id"]
    assert len(sid) == 32 and all(c in "0123456789abcdef" for c in sid)
    assert s["template"] == "minimal"
    assert s["idle_timeout_s"] == 600 and s["disk_mb"] == 50 and s["runs"] == 0
    assert before - 1 <= s["created_at"] <= time.time() + 1
    assert s["expires_at"] == s["created_at"] + 3600
    assert s["bytes_used"] == 0
    assert work(ses, sid).is_dir()
    assert (ses_dir(ses, sid) / "meta.json").is_file()

    text = b"hello\n"
    binary = bytes(range(256)) * 4 + os.urandom(200 << 10)
    r = put(ses, doc, sid, "hello.txt", text)
    assert r.json == {"path": "hello.txt", "size": len(text),
                      "sha256": hashlib.sha256(text).hexdigest(),
                      "request_id": r.json["request_id"]}
    r = put(ses, doc, sid, "src/deep/data.bin", binary)
    assert r.json["sha256"] == hashlib.sha256(binary).hexdigest()
    assert r.json["size"] == len(binary)
    empty = put(ses, doc, sid, "empty", b"")
    assert empty.json["sha256"] == hashlib.sha256(b"").hexdigest()

    r = call(ses, doc, "GET", "%s/%s/files" % (PREFIX, sid), status=200)
    names = {e["name"]: e for e in r.json["entries"]}
    assert set(names) == {"hello.txt", "src", "empty"}
    assert names["src"]["type"] == "directory"
    assert names["hello.txt"]["size"] == len(text) and names["hello.txt"]["mode"] == 0o644
    r = call(ses, doc, "GET", "%s/%s/files?path=src/deep" % (PREFIX, sid), status=200)
    assert r.json["path"] == "src/deep"
    assert [e["name"] for e in r.json["entries"]] == ["data.bin"]

    r = call(ses, doc, "GET", "%s/%s/files/src/deep/data.bin" % (PREFIX, sid), status=200)
    assert r.body == binary
    assert int(r.header("content-length")) == len(binary)
    assert r.header("content-type") == "application/octet-stream"
    assert r.header("x-content-type-options") == "nosniff"
    r = call(ses, doc, "GET", "%s/%s/files/hello.txt" % (PREFIX, sid), status=200)
    assert r.body == text and r.header("content-type").startswith("text/plain")
    r = ses.request("HEAD", "%s/%s/files/hello.txt" % (PREFIX, sid))
    assert r.status == 200 and r.body == b"" and int(r.header("content-length")) == len(text)

    r = call(ses, doc, "GET", "%s/%s" % (PREFIX, sid), status=200)
    assert r.json["session_id"] == sid
    assert r.json["bytes_used"] == 4096 + ((len(binary) + 4095) // 4096) * 4096
    r = call(ses, doc, "GET", PREFIX, status=200)
    assert sid in {x["session_id"] for x in r.json["sessions"]}

    call(ses, doc, "DELETE", "%s/%s/files/hello.txt" % (PREFIX, sid), status=204)
    r = call(ses, doc, "GET", "%s/%s/files/hello.txt" % (PREFIX, sid), status=404)
    assert r.json["error"]["field"] == "path"
    r = call(ses, doc, "DELETE", "%s/%s/files/src" % (PREFIX, sid), status=409)
    assert r.json["error"]["code"] == "not_empty"
    assert not (work(ses, sid) / "hello.txt").exists()

    r = call(ses, doc, "DELETE", "%s/%s" % (PREFIX, sid), status=204)
    assert r.body == b""
    for method, path in (("GET", "%s/%s" % (PREFIX, sid)),
                         ("GET", "%s/%s/files" % (PREFIX, sid)),
                         ("GET", "%s/%s/files/empty" % (PREFIX, sid)),
                         ("DELETE", "%s/%s" % (PREFIX, sid))):
        r = call(ses, doc, method, path, status=404)
        assert r.json["error"]["code"] == "session_not_found", (method, path)
    assert not ses_dir(ses, sid).exists()
    assert not [p for p in (ses.sessions_dir / "sessions").iterdir() if sid in p.name]
    r = call(ses, doc, "GET", PREFIX, status=200)
    assert sid not in {x["session_id"] for x in r.json["sessions"]}


def test_create_location_and_log(ses, doc):
    r = call(ses, doc, "POST", PREFIX, b"{}", {"Content-Type": "application/json"}, 201)
    sid = r.json["session_id"]
    assert r.header("location") == "%s/%s" % (PREFIX, sid)
    rid = r.header("x-request-id")
    lines = wait_for(lambda: [l for l in ses.logs() if l.get("event") == "sandbox.session.create"
                              and l.get("request_id") == rid], 5)
    assert lines and lines[0]["session_id"] == sid and lines[0]["status"] == 201
    put(ses, doc, sid, "a", b"x")
    lines = wait_for(lambda: [l for l in ses.logs() if l.get("event") == "sandbox.session.upload"
                              and l.get("session_id") == sid], 5)
    assert lines and lines[0]["request_id"]
    call(ses, doc, "DELETE", "%s/%s" % (PREFIX, sid), status=204)
    m = ses.request("GET", "/api/sandbox/metrics").body.decode()
    assert 'sandbox_session_operations_total{op="create",status="201"}' in m
    assert 'sandbox_session_operations_total{op="upload",status="201"}' in m
    assert 'sandbox_session_operations_total{op="delete",status="204"}' in m


def test_id_from_the_front(ses, doc):
    """Several hosts: with --trust-session-id-param (this pool has it) a
    new session takes the id the front nginx set (X-Sandbox-Session-Id ->
    SANDBOX_SESSION_ID); taken is 409, malformed 400; without it, random."""
    sid = os.urandom(16).hex()
    h = {"Content-Type": "application/json", "X-Sandbox-Session-Id": sid}
    r = call(ses, doc, "POST", PREFIX, b"{}", h, 201)
    assert r.json["session_id"] == sid and r.header("location").endswith(sid)
    r = call(ses, doc, "POST", PREFIX, b"{}", h, 409)
    assert r.json["error"]["code"] == "session_exists"
    for bad in ("ABC", sid.upper(), "../" + sid[3:]):
        h["X-Sandbox-Session-Id"] = bad
        r = call(ses, doc, "POST", PREFIX, b"{}", h, 400)
        assert r.json["error"]["code"] == "invalid_session_id"
    assert not [p for p in (ses.sessions_dir / "sessions").iterdir() if p.name.startswith(".new-")]
    other = create(ses, doc)["session_id"]
    assert other != sid
    for x in (sid, other):
        call(ses, doc, "DELETE", "%s/%s" % (PREFIX, x), status=204)


def test_create_with_every_field(ses, doc):
    s = create(ses, doc, template="minimal", ttl_s=120, idle_timeout_s=30, disk_mb=2,
               limits={"wall_time_ms": 2000, "memory_mb": 64}, env={"FOO": "bar"})
    assert s["expires_at"] == s["created_at"] + 120
    assert s["idle_timeout_s"] == 30 and s["disk_mb"] == 2 and s["disk_bytes"] == 2 << 20
    assert s["limits"] == {"wall_time_ms": 2000, "memory_mb": 64}
    assert s["env"] == {"FOO": "bar"}
    meta = json.loads((ses_dir(ses, s["session_id"]) / "meta.json").read_text())
    assert meta["defaults"]["env"] == {"FOO": "bar"}
    call(ses, doc, "DELETE", "%s/%s" % (PREFIX, s["session_id"]), status=204)


BAD_CREATE = [
    ({"ttl_s": 0}, "ttl_s"), ({"ttl_s": -1}, "ttl_s"), ({"ttl_s": "60"}, "ttl_s"),
    ({"ttl_s": 1.5}, "ttl_s"), ({"ttl_s": 86401}, "ttl_s"), ({"ttl_s": None}, "ttl_s"),
    ({"idle_timeout_s": 0}, "idle_timeout_s"), ({"idle_timeout_s": 10 ** 12}, "idle_timeout_s"),
    ({"idle_timeout_s": True}, "idle_timeout_s"),
    ({"disk_mb": 0}, "disk_mb"), ({"disk_mb": DISK_MAX_MB + 1}, "disk_mb"),
    ({"disk_mb": []}, "disk_mb"),
    ({"template": "nope"}, "template"), ({"template": 3}, "template"),
    ({"template": "minimal\u0000x"}, "template"),
    ({"limits": "x"}, "limits"), ({"limits": {"wall_time_ms": 0}}, "limits.wall_time_ms"),
    ({"limits": {"memory_mb": 1}}, "limits.memory_mb"), ({"limits": {"bogus": 1}}, "limits.bogus"),
    ({"env": []}, "env"), ({"env": {"A": 1}}, "env.A"), ({"env": {"1A": "x"}}, "env.1A"),
    ({"session": 1}, "session"),
]


@pytest.mark.parametrize("body,field", BAD_CREATE, ids=[f for _, f in BAD_CREATE])
def test_create_bad_field(ses, doc, body, field):
    before = set(os.listdir(ses.sessions_dir / "sessions"))
    r = call(ses, doc, "POST", PREFIX, json.dumps(body).encode(),
             {"Content-Type": "application/json"}, 400)
    err = r.json["error"]
    assert err["field"] == field, err
    assert err["code"] in ("invalid_field", "unknown_field", "unknown_template"), err
    if field == "template" and body["template"] == "nope":
        assert err["code"] == "unknown_template"
    assert set(os.listdir(ses.sessions_dir / "sessions")) == before


@pytest.mark.parametrize("body,ctype,status,code", [
    (b"{", "application/json", 400, "invalid_json"),
    (b"[]", "application/json", 400, "invalid_json"),
    (b'{"ttl_s": 5, "ttl_s": 6}', "application/json", 400, "invalid_json"),
    (b"{}", "text/plain", 415, "unsupported_media_type"),
    (b'{"env": {"A": "' + b"x" * (25 << 20) + b'"}}', "application/json", 413, "too_large"),
])
def test_create_bad_body(ses, doc, body, ctype, status, code):
    r = ses.request("POST", PREFIX, body, {"Content-Type": ctype})
    assert r.status == status, r
    assert r.json["error"]["code"] == code
    if r.header("content-type") == "application/json" and "request_id" in r.json:
        check_answer(doc, PREFIX, "post", r)


# --- ids -------------------------------------------------------------------------

BAD_IDS = ["abc", "0" * 31, "0" * 33, "A" * 32, "g" * 32, "%2e%2e", "..", "0" * 31 + "%00",
           "0" * 16 + "%2f" + "0" * 16, "x" * 300]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_malformed_ids_are_400(ses, doc, bad):
    for method, path in (("GET", "%s/%s" % (PREFIX, bad)), ("DELETE", "%s/%s" % (PREFIX, bad)),
                         ("GET", "%s/%s/files" % (PREFIX, bad)),
                         ("GET", "%s/%s/files/a" % (PREFIX, bad)),
                         ("PUT", "%s/%s/files/a" % (PREFIX, bad))):
        r = ses.request(method, path, b"x" if method == "PUT" else None)
        if r.json["error"]["code"] == "invalid_request" or r.json["error"]["code"] == "not_found":
            # nginx itself refuses a NUL once decoded (its JSON 400), and
            # ".." leaves the session paths after nginx's normalisation.
            assert bad in (".." , "0" * 31 + "%00"), (method, path, r)
            continue
        assert r.status == 400, (method, path, r)
        assert r.json["error"] == {"code": "invalid_session_id", "field": "session_id",
                                   "message": r.json["error"]["message"]}
        check_answer(doc, op_path(path.replace(bad, "0" * 32)), method.lower(), r)


def test_unknown_id_is_404(ses, doc):
    sid = "0123456789abcdef0123456789abcdef"
    for method, path in (("GET", "%s/%s" % (PREFIX, sid)), ("DELETE", "%s/%s" % (PREFIX, sid)),
                         ("GET", "%s/%s/files" % (PREFIX, sid)),
                         ("GET", "%s/%s/files/a" % (PREFIX, sid)),
                         ("DELETE", "%s/%s/files/a" % (PREFIX, sid))):
        r = call(ses, doc, method, path, status=404)
        assert r.json["error"]["code"] == "session_not_found"
    r = put(ses, doc, sid, "a", b"x", 404)
    assert not ses_dir(ses, sid).exists()


def test_wrong_methods_name_all_allowed(ses, doc):
    sid = create(ses, doc)["session_id"]
    for method, path, allow in (
            ("PUT", PREFIX, "GET, HEAD, POST"),
            ("POST", "%s/%s" % (PREFIX, sid), "GET, HEAD, DELETE"),
            ("DELETE", "%s/%s/files" % (PREFIX, sid), "GET, HEAD"),
            ("POST", "%s/%s/files/a" % (PREFIX, sid), "GET, HEAD, PUT, DELETE"),
            ("GET", "%s/%s/run" % (PREFIX, sid), "POST")):
        r = call(ses, doc, method, path, b"{}", {"Content-Type": "application/json"}, 405)
        assert r.header("allow") == allow, (path, r.header("allow"))
    call(ses, doc, "DELETE", "%s/%s" % (PREFIX, sid), status=204)


# --- paths -------------------------------------------------------------------------

TRAVERSALS = [
    "..", "../x-ses-a", "a/../b", "%2e%2e", "%2e%2e/x-ses-b", "a/%2e%2e/%2e%2e/x-ses-c",
    "%2E%2E%2fx-ses-d", "..%2f..%2f..%2fetc%2fx-ses-e", "%2fetc%2fx-ses-f", "%2Fx-ses-g",
    "a%00b", "%00", "x-ses-h%00.txt", "a//b", "a/./b", "./a", "a/", "%", "%zz", "a%2",
    "%0a", "a%01b", "x" * 1100, "/".join(["d"] * 40), "n" * 256,
]


@pytest.mark.parametrize("path", TRAVERSALS, ids=[p[:40] for p in TRAVERSALS])
def test_traversal_is_invalid_path(ses, doc, path):
    sid = create(ses, doc)["session_id"]
    before = host_snapshot(ses)
    base = "%s/%s/files/%s" % (PREFIX, sid, path)
    for method, body in (("PUT", b"owned"), ("GET", None), ("DELETE", None)):
        r = ses.request(method, base, body, {"Content-Type": "application/octet-stream"})
        assert r.status == 400, (method, path, r)
        check_answer(doc, PREFIX + "/{id}/files/{path}", method.lower(), r)
        if r.json["error"]["code"] == "invalid_request":
            # nginx refused the URL itself (a NUL or a malformed escape):
            # its JSON 400 (snippets/sandbox-location.conf), no field
            assert path in ("a%00b", "%00", "x-ses-h%00.txt", "%", "%zz", "a%2"), path
            assert r.json["error"].get("field") is None
            continue
        assert r.json["error"]["code"] == "invalid_path" and r.json["error"]["field"] == "path"
    r = ses.request("GET", "%s/%s/files?path=%s" % (PREFIX, sid, path))
    if path not in ("a/",) and r.header("content-type") == "application/json":
        assert r.status == 400, (path, r)
        assert r.json["error"]["code"] == "invalid_path"
    assert host_snapshot(ses) == before
    assert list(work(ses, sid).iterdir()) == []
    call(ses, doc, "DELETE", "%s/%s" % (PREFIX, sid), status=204)


def test_escaped_percent_is_a_literal_name(ses, doc):
    """Decoded once: %252e%252e is the file named '%2e%2e', never '..'."""
    sid = create(ses, doc)["session_id"]
    r = put(ses, doc, sid, "%252e%252e", b"lit")
    assert r.json["path"] == "%2e%2e"
    assert (work(ses, sid) / "%2e%2e").read_bytes() == b"lit"
    r = put(ses, doc, sid, "dir%2fsub%20x.txt", b"enc")
    assert r.json["path"] == "dir/sub x.txt"
    assert (work(ses, sid) / "dir" / "sub x.txt").read_bytes() == b"enc"
    r = call(ses, doc, "GET", "%s/%s/files/%%252e%%252e" % (PREFIX, sid), status=200)
    assert r.body == b"lit"
    r = call(ses, doc, "GET", "%s/%s/files?path=dir" % (PREFIX, sid), status=200)
    assert [e["name"] for e in r.json["entries"]] == ["sub x.txt"]
    call(ses, doc, "DELETE", "%s/%s" % (PREFIX, sid), status=204)


def test_symlink_planted_in_workspace_is_not_followed(ses, doc):
    sid = create(ses, doc)["session_id"]
    os.symlink("/etc", work(ses, sid) / "link")
    os.symlink("/etc/hostname", work(ses, sid) / "flink")
    r = call(ses, doc, "GET", "%s/%s/files/link/hostname" % (PREFIX, sid), status=403)
    assert r.json["error"]["code"] == "unsafe_path"
    r = call(ses, doc, "GET", "%s/%s/files/flink" % (PREFIX, sid))
    assert r.status in (400, 403) and b"localhost" not in r.body
    r = put(ses, doc, sid, "link/x-ses-planted", b"x", 403)
    assert not pathlib.Path("/etc/x-ses-planted").exists()
    r = call(ses, doc, "GET", "%s/%s/files?path=link" % (PREFIX, sid), status=403)
    call(ses, doc, "DELETE", "%s/%s" % (PREFIX, sid), status=204)
    assert pathlib.Path("/etc/hostname").exists()


# --- quota, caps, concurrency ------------------------------------------------------

def test_upload_over_quota_is_413_and_leaves_nothing(ses, doc):
    sid = create(ses, doc, disk_mb=1)["session_id"]
    first = os.urandom(600 << 10)
    put(ses, doc, sid, "first.bin", first)
    r = put(ses, doc, sid, "new/dir/second.bin", os.urandom(600 << 10), 413)
    assert r.json["error"]["code"] == "quota_exceeded"
    r = put(ses, doc, sid, "first.bin", os.urandom(2 << 20), 413)
    assert r.json["error"]["code"] == "quota_exceeded"
    assert sorted(p.name for p in work(ses, sid).rglob("*")) == ["first.bin"]
    r = call(ses, doc, "GET", "%s/%s/files/first.bin" % (PREFIX, sid), status=200)
    assert r.body == first
    # replacing a file charges only the difference
    put(ses, doc, sid, "first.bin", os.urandom(1000 << 10))
    call(ses, doc, "DELETE", "%s/%s" % (PREFIX, sid), status=204)


def test_upload_over_cap_is_413(ses, doc):
    sid = create(ses, doc, disk_mb=DISK_MAX_MB)["session_id"]
    r = put(ses, doc, sid, "big.bin", b"\0" * (UPLOAD_CAP + 1), 413)
    assert r.json["error"]["code"] == "too_large"
    assert list(work(ses, sid).iterdir()) == []
    put(ses, doc, sid, "ok.bin", b"\1" * UPLOAD_CAP)
    call(ses, doc, "DELETE", "%s/%s" % (PREFIX, sid), status=204)


def test_concurrent_uploads(ses, doc):
    sid = create(ses, doc)["session_id"]
    data = {"f%d/x.bin" % i: os.urandom(100 << 10) for i in range(8)}
    busy = []

    def upload(path, blob):
        for _ in range(200):
            r = ses.request("PUT", "%s/%s/files/%s" % (PREFIX, sid, path), blob)
            if r.status == 409:
                assert r.json["error"]["code"] == "session_busy"
                assert r.header("retry-after") == "1"
                busy.append(path)
                time.sleep(0.05)
                continue
            assert r.status == 201, r
            assert r.json["sha256"] == hashlib.sha256(blob).hexdigest()
            return
        raise AssertionError("never got through")

    threads = [threading.Thread(target=upload, args=kv) for kv in data.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for path, blob in data.items():
        assert (work(ses, sid) / path).read_bytes() == blob
    assert not [p for p in work(ses, sid).rglob(".ses-tmp-*")]
    call(ses, doc, "DELETE", "%s/%s" % (PREFIX, sid), status=204)


def test_locked_session_is_busy_and_delete_waits(ses, doc):
    """A run holds the session lock: uploads and file deletes are 409 with
    Retry-After; DELETE renames the session out of sight at once (404 for
    everyone), waits for the lock, then removes the tree."""
    sid = create(ses, doc)["session_id"]
    put(ses, doc, sid, "a", b"1")
    lock = open(ses_dir(ses, sid) / "lock", "r+")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        r = put(ses, doc, sid, "b", b"2", 409)
        assert r.json["error"]["code"] == "session_busy" and r.header("retry-after") == "1"
        r = call(ses, doc, "DELETE", "%s/%s/files/a" % (PREFIX, sid), status=409)
        r = call(ses, doc, "GET", "%s/%s/files/a" % (PREFIX, sid), status=200)
        out = {}
        t = threading.Thread(target=lambda: out.setdefault(
            "r", ses.request("DELETE", "%s/%s" % (PREFIX, sid))))
        t.start()
        assert wait_for(lambda: not ses_dir(ses, sid).exists(), 10)
        r = call(ses, doc, "GET", "%s/%s" % (PREFIX, sid), status=404)
        time.sleep(0.3)
        assert t.is_alive(), "DELETE did not wait for the lock"
        trash = [p for p in (ses.sessions_dir / "sessions").iterdir() if sid in p.name]
        assert trash and trash[0].name.startswith(".del-")
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
    t.join(30)
    assert out["r"].status == 204, out
    assert wait_for(lambda: not [p for p in (ses.sessions_dir / "sessions").iterdir()
                                 if sid in p.name], 5)


# --- expiry, operator commands, restart ---------------------------------------------

def test_lifetime_expiry(ses, doc):
    sid = create(ses, doc, ttl_s=1)["session_id"]
    put(ses, doc, sid, "a", b"1")
    time.sleep(2.1)
    for method, path in (("GET", "%s/%s" % (PREFIX, sid)), ("GET", "%s/%s/files/a" % (PREFIX, sid)),
                         ("DELETE", "%s/%s" % (PREFIX, sid))):
        r = call(ses, doc, method, path, status=404)
        assert r.json["error"]["code"] == "session_not_found"
        assert "expired" in r.json["error"]["message"]
    put(ses, doc, sid, "b", b"2", 404)
    r = call(ses, doc, "GET", PREFIX, status=200)
    assert sid not in {x["session_id"] for x in r.json["sessions"]}
    # No request needs to arrive: the timer's command removes it.
    r = as_service_user(ses, "--sweep-sessions")
    assert r.returncode == 0, r.stderr
    assert not ses_dir(ses, sid).exists()


def test_idle_expiry_and_use_keeps_alive(ses, doc):
    idle = create(ses, doc, idle_timeout_s=2)["session_id"]
    used = create(ses, doc, idle_timeout_s=2)["session_id"]
    for _ in range(3):
        time.sleep(1.0)
        call(ses, doc, "GET", "%s/%s/files" % (PREFIX, used), status=200)
    r = call(ses, doc, "GET", "%s/%s" % (PREFIX, idle), status=404)
    assert r.json["error"]["code"] == "session_not_found"
    call(ses, doc, "GET", "%s/%s" % (PREFIX, used), status=200)
    r = as_service_user(ses, "--sweep-sessions")
    assert r.returncode == 0, r.stderr
    assert not ses_dir(ses, idle).exists() and ses_dir(ses, used).exists()
    call(ses, doc, "DELETE", "%s/%s" % (PREFIX, used), status=204)


def test_list_and_purge_commands(ses, doc):
    sids = [create(ses, doc)["session_id"] for _ in range(3)]
    put(ses, doc, sids[0], "a", b"1")
    r = as_service_user(ses, "--list-sessions")
    assert r.returncode == 0, r.stderr
    listed = {json.loads(l)["session_id"]: json.loads(l) for l in r.stdout.splitlines()}
    assert set(sids) <= set(listed)
    assert listed[sids[0]]["bytes_used"] == 4096 and listed[sids[0]]["expired"] is False
    r = as_service_user(ses, "--purge-sessions")
    assert r.returncode == 0, r.stderr
    assert list((ses.sessions_dir / "sessions").iterdir()) == []
    r = call(ses, doc, "GET", PREFIX, status=200)
    assert r.json["sessions"] == []
    r = as_service_user(ses, "--list-sessions")
    assert r.returncode == 0 and r.stdout == ""


def test_commands_as_root_act_as_the_owner(ses, doc):
    """Root's --sweep-sessions on a store whose files are not made yet
    makes them the service user's (else the responders could not open
    sweep.lock again); another user is refused."""
    import pwd
    owner = pwd.getpwnam("sandbox").pw_uid
    lock = ses.sessions_dir / "sweep.lock"
    lock.unlink()
    r = subprocess.run([ses.env["SANDBOX_BIN"], "--state-dir", str(ses.sessions_dir),
                        "--sweep-sessions"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert lock.stat().st_uid == owner
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                        ses.env["SANDBOX_BIN"], "--state-dir", str(ses.sessions_dir),
                        "--list-sessions"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "run this as that user" in r.stderr, r.stderr
    # the pool still works with the store
    sid = create(ses, doc)["session_id"]
    call(ses, doc, "DELETE", "%s/%s" % (PREFIX, sid), status=204)


def test_state_dir_is_private(ses, doc):
    st = os.stat(ses.sessions_dir)
    assert st.st_mode & 0o777 == 0o700
    import pwd
    assert pwd.getpwuid(st.st_uid).pw_name == "sandbox"
    sid = create(ses, doc)["session_id"]
    assert os.stat(ses_dir(ses, sid)).st_mode & 0o777 == 0o700
    call(ses, doc, "DELETE", "%s/%s" % (PREFIX, sid), status=204)


def test_restart_keeps_sessions_and_responders_sweep(ses, doc):
    """Sessions survive a restart of the pool; a fresh responder sweeps
    after its first answer (then at most every 30 s), so a session that
    expired while the pool was down goes without the timer."""
    sid = create(ses, doc)["session_id"]
    short = create(ses, doc, ttl_s=1)["session_id"]
    blob = os.urandom(50 << 10)
    put(ses, doc, sid, "keep/me.bin", blob)
    ses.ctl("stop-pool")
    time.sleep(2.5)   # ttl 1 from a creation time rounded up: gone by 2 s
    assert ses_dir(ses, short).exists()
    ses.ctl("start-pool")
    ses.ctl("wait-health", "60")
    r = call(ses, doc, "GET", "%s/%s/files/keep/me.bin" % (PREFIX, sid), status=200)
    assert r.body == blob
    assert wait_for(lambda: not ses_dir(ses, short).exists(), 10), "no responder swept"
    assert wait_for(lambda: [l for l in ses.logs() if l.get("event") == "sandbox.session.swept"
                             and l.get("by") == "responder"], 5)
    call(ses, doc, "DELETE", "%s/%s" % (PREFIX, sid), status=204)


def test_head_of_session_endpoints(ses, doc):
    sid = create(ses, doc)["session_id"]
    for path in (PREFIX, "%s/%s" % (PREFIX, sid), "%s/%s/files" % (PREFIX, sid)):
        r = ses.request("HEAD", path)
        assert r.status == 200 and r.body == b"" and r.header("x-request-id"), (path, r)
        assert "200" in doc["paths"][op_path(path)]["head"]["responses"]
    r = ses.request("HEAD", "%s/%s/files/nope" % (PREFIX, sid))
    assert r.status == 404 and r.body == b""
    call(ses, doc, "DELETE", "%s/%s" % (PREFIX, sid), status=204)


def test_session_run_route_is_routed(ses, doc):
    """The run route is the jail integration's (test_session_runs.py); here
    only that its refusals are documented answers, reached through the
    same raw-URI routing."""
    sid = create(ses, doc)["session_id"]
    r = ses.request("POST", "%s/%s/run" % (PREFIX, sid), b"{", {"Content-Type": "application/json"})
    assert r.status == 400, r
    check_answer(doc, PREFIX + "/{id}/run", "post", r)
    r = ses.request("POST", "%s/%s/run" % (PREFIX, "0" * 31), b"{}", {"Content-Type": "application/json"})
    assert r.status == 400 and r.json["error"]["code"] == "invalid_session_id", r
    call(ses, doc, "DELETE", "%s/%s" % (PREFIX, sid), status=204)


@pytest.mark.parametrize("case", ["missing_parent", "other_owner", "a_file"])
def test_unusable_state_dir_refuses_to_start(case):
    """A responder whose --state-dir cannot be used exits at start-up with
    one clear log line (step state_dir), before it accepts anything."""
    from conftest import ROOTFS_BASE, find_binary
    base = pathlib.Path(tempfile.mkdtemp(prefix="sandbox-it-state-"))
    os.chmod(base, 0o755)                 # searchable by nobody, writable by root only
    binary = shutil.copy2(find_binary(), base / "sandbox-fcgi")
    state = base / "state"
    if case == "missing_parent":
        state = base / "no" / "state"
    elif case == "other_owner":
        state.mkdir(mode=0o700)           # root's
    else:
        state.write_text("")
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                        str(binary), "--socket", "127.0.0.1:%d" % free_port(),
                        "--rootfs-base", ROOTFS_BASE, "--state-dir", str(state)],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
    assert r.returncode == 1, (r.returncode, r.stderr)
    line = json.loads(r.stderr.strip().splitlines()[-1])
    assert line["event"] == "sandbox.start.failed" and line["step"] == "state_dir", line
    assert str(state) in line["message"], line
    assert not (base / "no").exists()
    shutil.rmtree(base)


def test_list_only_from_this_host(ses, doc):
    """Every id is in the list, and an id opens its workspace: the shipped
    snippet allows the list from 127.0.0.1 and ::1 only. A client bound to
    127.0.0.2 stands for any other host: 403 JSON from nginx for GET and
    HEAD, while it may still create and use its own session."""
    import http.client

    def from_other(method, path, body=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", ses.port, timeout=10,
                                       source_address=("127.0.0.2", 0))
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            from conftest import Resp
            return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            c.close()

    r = from_other("GET", PREFIX)
    assert r.status == 403, r
    check_answer(doc, PREFIX, "get", r)
    assert r.json["error"]["code"] == "forbidden"
    assert from_other("HEAD", PREFIX).status == 403
    r = from_other("POST", PREFIX, b"{}", {"Content-Type": "application/json"})
    assert r.status == 201, r
    sid = r.json["session_id"]
    assert from_other("PUT", "%s/%s/files/a" % (PREFIX, sid), b"x").status == 201
    assert from_other("GET", "%s/%s/files/a" % (PREFIX, sid)).body == b"x"
    assert from_other("DELETE", "%s/%s" % (PREFIX, sid)).status == 204


def test_files_wrong_kind_are_4xx(ses, doc):
    """The wrong kind of entry for the operation: a documented 4xx naming
    the path, never a 500."""
    sid = create(ses, doc)["session_id"]
    put(ses, doc, sid, "d/f.txt", b"x")
    os.mkfifo(work(ses, sid) / "fifo")
    cases = [("GET", "files?path=d/f.txt", None), ("GET", "files?path=nope", None),
             ("GET", "files/d", None), ("GET", "files/fifo", None),
             ("PUT", "files/d", b"x"), ("PUT", "files/d/f.txt/x", b"x"),
             ("DELETE", "files/nope", None), ("DELETE", "files/d", None)]
    for method, rest, body in cases:
        r = call(ses, doc, method, "%s/%s/%s" % (PREFIX, sid, rest), body)
        assert 400 <= r.status < 500, (method, rest, r)
        assert r.json["error"].get("field") == "path", (method, rest, r)
    assert (work(ses, sid) / "d" / "f.txt").read_bytes() == b"x"
    call(ses, doc, "DELETE", "%s/%s" % (PREFIX, sid), status=204)
