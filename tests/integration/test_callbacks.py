"""Callback delivery (src/callback, sandbox-callbacks) against a test HTTP
receiver on 127.0.0.1: a signed POST verified here with hmac, a retry after
a 500, a host not on the allowlist never connected to, and a pending
callback that survives a killed deliverer; tests/callback/cb_tool queues
those as a responder would. The last tests go through the real pool:
POST /api/sandbox/runs refuses a callback_url off the allowlist, and a
finished asynchronous run is queued and called back. Only loopback
addresses are used."""
import hashlib
import hmac
import http.server
import json
import os
import pathlib
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import CALLBACK_PORT, find_binary

SECRET = b"it-callback-secret-0123456789abcdef"


def build_dir():
    return pathlib.Path(find_binary()).resolve().parents[2]


def tool(name, env):
    p = os.environ.get(env) or str(build_dir() / name)
    if not os.access(p, os.X_OK):
        pytest.skip(f"{name} not built (make check builds it)")
    return p


@pytest.fixture(scope="module")
def deliverer():
    return tool("src/callback/sandbox-callbacks", "SANDBOX_CALLBACKS")


@pytest.fixture(scope="module")
def cb_tool():
    return tool("tests/callback/cb_tool", "SANDBOX_CB_TOOL")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """HTTP receiver on 127.0.0.1 answering the statuses in `answers` in
    turn (the last one repeated); records every request."""

    def __init__(self, port=None, answers=(200,), headers=(), tls=None):
        self.requests = []
        self.answers = list(answers)
        self.port = port or free_port()
        rec = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                rec.requests.append({"path": self.path, "headers": dict(self.headers),
                                     "body": body, "at": time.time()})
                st = rec.answers[min(len(rec.requests), len(rec.answers)) - 1]
                self.send_response(st)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        if tls:
            self.srv.socket = tls.wrap_socket(self.srv.socket, server_side=True)
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture
def state(tmp_path):
    (tmp_path / "state").mkdir()
    sec = tmp_path / "secret"
    sec.write_bytes(SECRET + b"\n")
    sec.chmod(0o600)
    return tmp_path


def enqueue(cb_tool, state, run_id, url, body):
    subprocess.run([cb_tool, "enqueue", str(state / "state"), run_id, url],
                   input=body, check=True, timeout=10)


def flags(state, *allow, extra=()):
    f = ["--state-dir", str(state / "state"), "--callback-secret-file", str(state / "secret")]
    for a in allow:
        f += ["--callback-allow", a]
    return f + list(extra)


def run_once(deliverer, state, *allow, extra=()):
    p = subprocess.run([deliverer, "--once"] + flags(state, *allow, extra=extra),
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stderr.decode().splitlines() if line.strip()]


def record(state, run_id):
    p = state / "state" / "callbacks" / f"{run_id}.json"
    return json.loads(p.read_text()) if p.exists() else None


def verify(req, secret=SECRET, window_s=300):
    """What a receiver does (docs/API.md, "Callbacks")."""
    ts = req["headers"]["X-Sandbox-Timestamp"]
    sig = req["headers"]["X-Sandbox-Signature"]
    assert abs(time.time() - int(ts)) <= window_s
    want = hmac.new(secret, ts.encode() + b"." + req["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig, "sha256=" + want)


def wait_for(cond, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_callback_is_signed_and_verifies(deliverer, cb_tool, state):
    r = Receiver()
    try:
        body = json.dumps({"id": "run-ok", "exit_code": 0, "stdout": "h\u00e9\n"}).encode()
        enqueue(cb_tool, state, "run-ok", f"http://127.0.0.1:{r.port}/hook?k=1", body)
        logs = run_once(deliverer, state, f"127.0.0.1:{r.port}")
        assert len(r.requests) == 1
        req = r.requests[0]
        assert req["path"] == "/hook?k=1"
        assert req["body"] == body
        assert req["headers"]["Content-Type"] == "application/json"
        assert req["headers"]["X-Sandbox-Run-Id"] == "run-ok"
        assert req["headers"]["X-Sandbox-Attempt"] == "1"
        assert verify(req)
        # a receiver with another secret, or a changed body, refuses it
        assert not verify(req, secret=b"another-secret-0123456789")
        assert not verify(dict(req, body=body + b" "))
        assert record(state, "run-ok") is None
        ev = [e for e in logs if e["event"] == "sandbox.callback.delivered"]
        assert ev and ev[0]["run_id"] == "run-ok" and ev[0]["url_host"] == "127.0.0.1"
        assert ev[0]["status"] == 200 and ev[0]["attempt"] == 1
        assert "body" not in ev[0] and "stdout" not in json.dumps(logs)
    finally:
        r.close()


def test_callback_retried_after_500(deliverer, cb_tool, state):
    r = Receiver(answers=(500, 200))
    p = subprocess.Popen([deliverer, "--poll-ms", "100"] + flags(state, f"127.0.0.1:{r.port}"),
                         stderr=subprocess.PIPE)
    try:
        enqueue(cb_tool, state, "run-retry", f"http://127.0.0.1:{r.port}/", b'{"id":"run-retry"}')
        assert wait_for(lambda: len(r.requests) >= 2 and record(state, "run-retry") is None)
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=20)
        r.close()
    assert p.returncode == 0
    a, b = r.requests[:2]
    assert a["headers"]["X-Sandbox-Attempt"] == "1" and b["headers"]["X-Sandbox-Attempt"] == "2"
    assert verify(a) and verify(b)
    # backoff: the retry is due 1 s (whole seconds of the clock) after the
    # first attempt, and each attempt is signed with its own timestamp
    ts_a, ts_b = (int(x["headers"]["X-Sandbox-Timestamp"]) for x in (a, b))
    assert ts_b - ts_a >= 1
    assert len(r.requests) == 2
    logs = [json.loads(x) for x in err.decode().splitlines() if x.strip()]
    seq = [(e["event"], e.get("status")) for e in logs if e["event"].startswith("sandbox.callback.")]
    assert seq == [("sandbox.callback.failed", 500), ("sandbox.callback.delivered", 200)]


def test_host_not_on_allowlist_is_refused_and_never_connected(deliverer, cb_tool, state):
    r = Receiver()
    try:
        other = free_port()
        url = f"http://127.0.0.1:{r.port}/"
        # at submission: refused, naming why
        p = subprocess.run([cb_tool, "check", url, f"127.0.0.1:{other}", "localhost"],
                           capture_output=True, text=True, timeout=10)
        assert p.returncode == 1 and "allowlist" in p.stdout
        p = subprocess.run([cb_tool, "check", url], capture_output=True, text=True, timeout=10)
        assert p.returncode == 1 and "not enabled" in p.stdout
        # queued anyway (an allowlist that shrank since): the deliverer
        # checks again and never connects
        enqueue(cb_tool, state, "run-refused", url, b"{}")
        logs = run_once(deliverer, state, f"127.0.0.1:{other}")
        assert r.requests == []
        rec = record(state, "run-refused")
        assert rec["attempts"] == 1 and rec["last_status"] == 0
        ev = [e for e in logs if e["event"] == "sandbox.callback.failed"]
        assert ev and "allowlist" in ev[0]["detail"]
    finally:
        r.close()


def test_redirect_is_not_followed(deliverer, cb_tool, state):
    """A 3xx is a failed attempt: the Location is never visited."""
    target = Receiver()
    r = Receiver(answers=(302,), headers=[("Location", f"http://127.0.0.1:{target.port}/x")])
    try:
        enqueue(cb_tool, state, "run-redir", f"http://127.0.0.1:{r.port}/", b"{}")
        logs = run_once(deliverer, state, f"127.0.0.1:{r.port}", f"127.0.0.1:{target.port}")
        assert len(r.requests) == 1 and target.requests == []
        assert record(state, "run-redir")["last_status"] == 302
        assert [e["status"] for e in logs if e["event"] == "sandbox.callback.failed"] == [302]
    finally:
        r.close()
        target.close()


def tls_context(tmp_path):
    """A self-signed certificate for 127.0.0.1 (openssl), as a server context."""
    import ssl
    key, crt = tmp_path / "key.pem", tmp_path / "crt.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True, timeout=60)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(crt), str(key))
    return ctx, crt


def test_https_verifies_the_receiver(deliverer, cb_tool, state):
    """https: delivered with the operator's CA file; without it the
    self-signed receiver fails verification and gets no request."""
    ctx, crt = tls_context(state)
    r = Receiver(tls=ctx)
    try:
        url = f"https://127.0.0.1:{r.port}/tls"
        enqueue(cb_tool, state, "run-tls", url, b'{"id":"run-tls"}')
        logs = run_once(deliverer, state, f"127.0.0.1:{r.port}")
        assert r.requests == []
        ev = [e for e in logs if e["event"] == "sandbox.callback.failed"]
        assert ev and ev[0]["status"] == 0 and "certificate" in ev[0]["detail"].lower()
        rec = record(state, "run-tls")
        rec["next_at"] = 0          # due now, rather than waiting out the backoff
        (state / "state" / "callbacks" / "run-tls.json").write_text(json.dumps(rec))
        run_once(deliverer, state, f"127.0.0.1:{r.port}", extra=["--callback-ca-file", str(crt)])
        assert len(r.requests) == 1 and verify(r.requests[0])
        assert record(state, "run-tls") is None
    finally:
        r.close()


def test_unspecified_address_never_connected(deliverer, cb_tool, state):
    """0.0.0.0 reaches this host's services through connect(2); even listed,
    the deliverer's socket callback refuses it."""
    r = Receiver()
    try:
        enqueue(cb_tool, state, "run-zero", f"http://0.0.0.0:{r.port}/", b"{}")
        logs = run_once(deliverer, state, f"0.0.0.0:{r.port}")
        assert r.requests == []
        ev = [e for e in logs if e["event"] == "sandbox.callback.failed"]
        assert ev and "refused" in ev[0]["detail"]
    finally:
        r.close()


def test_pending_callback_survives_a_killed_deliverer(deliverer, cb_tool, state):
    port = free_port()          # nothing listens yet: connection refused
    enqueue(cb_tool, state, "run-later", f"http://127.0.0.1:{port}/", b'{"id":"run-later"}')
    p = subprocess.Popen([deliverer, "--poll-ms", "100"] + flags(state, f"127.0.0.1:{port}"),
                         stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: (record(state, "run-later") or {}).get("attempts", 0) >= 1)
    finally:
        p.kill()                # no clean stop: as a crash or a reboot
        p.wait(timeout=10)
    rec = record(state, "run-later")
    assert rec and rec["attempts"] >= 1 and rec["body"] == '{"id":"run-later"}'
    r = Receiver(port=port)
    p = subprocess.Popen([deliverer, "--poll-ms", "100"] + flags(state, f"127.0.0.1:{port}"),
                         stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: record(state, "run-later") is None)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=20)
        r.close()
    assert len(r.requests) == 1
    assert r.requests[0]["body"] == b'{"id":"run-later"}' and verify(r.requests[0])
    assert int(r.requests[0]["headers"]["X-Sandbox-Attempt"]) == rec["attempts"] + 1


def test_deliverer_refuses_a_readable_secret(deliverer, state):
    (state / "secret").chmod(0o644)
    p = subprocess.run([deliverer, "--once"] + flags(state, "127.0.0.1:1"),
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1 and "chmod 600" in p.stderr
    p = subprocess.run([deliverer, "--once", "--callback-secret", "x"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 2


# --- through the pool: POST /api/sandbox/runs with callback_url -----------

def submit(svc, body):
    return svc.request("POST", "/api/sandbox/runs", json.dumps(body).encode(),
                       {"Content-Type": "application/json"})


@pytest.mark.parametrize("url,why", [
    ("http://127.0.0.1:%d/" % (CALLBACK_PORT + 1 if CALLBACK_PORT < 65535 else 1), "allowlist"),
    ("http://localhost:%d/" % CALLBACK_PORT, "allowlist"),
    ("http://user@127.0.0.1:%d/" % CALLBACK_PORT, "user information"),
    ("http://2130706433:%d/" % CALLBACK_PORT, "invalid host"),
    ("ftp://127.0.0.1:%d/" % CALLBACK_PORT, "scheme"),
    ("http://127.0.0.1:%d/#x" % CALLBACK_PORT, "fragment"),
    ("x" * 3000, "2048"),
    (17, "string"),
])
def test_submission_refuses_a_bad_callback_url(svc, url, why):
    r = submit(svc, {"runtime": "bash", "code": "true", "callback_url": url})
    assert r.status == 400, r
    err = r.json["error"]
    assert err["code"] == "invalid_field" and err["field"] == "callback_url"
    assert why in err["message"]


def test_finished_run_is_called_back(svc, deliverer, tmp_path):
    sec = tmp_path / "secret"
    sec.write_bytes(SECRET)
    sec.chmod(0o600)
    rcv = Receiver(port=CALLBACK_PORT)
    try:
        url = f"http://127.0.0.1:{CALLBACK_PORT}/done"
        r = submit(svc, {"runtime": "bash", "code": "echo called back", "callback_url": url})
        assert r.status == 202, r
        run_id = r.json["run_id"]
        queued = svc.state / "state" / "callbacks" / f"{run_id}.json"
        assert wait_for(queued.exists, timeout=60), "the finished run was not queued"
        p = subprocess.run([deliverer, "--once", "--state-dir", str(svc.state / "state"),
                            "--callback-allow", f"127.0.0.1:{CALLBACK_PORT}",
                            "--callback-secret-file", str(sec)],
                           capture_output=True, timeout=30)
        assert p.returncode == 0, p.stderr
        assert len(rcv.requests) == 1
        req = rcv.requests[0]
        assert req["path"] == "/done" and verify(req)
        assert req["headers"]["X-Sandbox-Run-Id"] == run_id
        doc = json.loads(req["body"])
        assert doc["run_id"] == run_id and doc["status"] == "done"
        assert doc["result"]["stdout"] == "called back\n"
        # the same object GET /runs/{id} answers (request_id aside)
        got = svc.request("GET", f"/api/sandbox/runs/{run_id}").json
        assert {k: v for k, v in got.items() if k != "request_id"} == \
            {k: v for k, v in doc.items() if k != "request_id"}
        assert not queued.exists()
    finally:
        rcv.close()


# --- the quick start's deliverer (scripts/lib/service-common.sh) -------------

def proc_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


def test_quick_start_runs_no_deliverer_by_default(svc):
    assert not (svc.state / "callbacks.pid").exists()
    assert not (svc.state / "callback.secret").exists()


def test_quick_start_runs_the_deliverer_with_the_pool(deliverer):
    """SANDBOX_CALLBACK_ALLOW turns callbacks on in service-ctl.sh (so in
    scripts/quickstart.sh): the responders get the allowlist, a secret is
    made for the service user, sandbox-callbacks runs as that user beside
    the pool and delivers a finished run's callback, signed with that
    secret; it stops with the pool."""
    import pwd
    import shutil
    import tempfile
    from conftest import Service, make_env
    state = pathlib.Path(tempfile.mkdtemp(prefix="sandbox-it-cb-"))
    os.chmod(state, 0o755)
    rcv = Receiver()
    s = Service(state, make_env(state, free_port(), SANDBOX_POOL=1,
                                SANDBOX_FCGI_ARGS="--queue-timeout-ms 5000",
                                SANDBOX_CALLBACK_ALLOW="127.0.0.1:%d" % rcv.port,
                                SANDBOX_CALLBACKS_BIN=deliverer,
                                SANDBOX_CALLBACKS_ARGS="--poll-ms 200"))
    try:
        s.ctl("start", "60")
        pid = int((state / "callbacks.pid").read_text())
        user = pwd.getpwnam("sandbox")
        assert proc_uid(pid) == user.pw_uid, "the deliverer must run as the service user"
        cmd = pathlib.Path("/proc/%d/cmdline" % pid).read_bytes().split(b"\0")
        assert str(state / "state").encode() in cmd, cmd
        sec = state / "callback.secret"
        st = sec.stat()
        assert st.st_uid == user.pw_uid and st.st_mode & 0o777 == 0o600, oct(st.st_mode)
        secret = sec.read_bytes().rstrip(b"\n")
        url = "http://127.0.0.1:%d/hook" % rcv.port
        r = submit(s, {"runtime": "bash", "code": "echo via quickstart", "callback_url": url})
        assert r.status == 202, r
        assert wait_for(lambda: rcv.requests, timeout=60), "no callback arrived"
        req = rcv.requests[0]
        assert req["path"] == "/hook" and verify(req, secret=secret)
        assert json.loads(req["body"])["result"]["stdout"] == "via quickstart\n"
        # A host off the allowlist is refused at submission, as configured.
        r = submit(s, {"runtime": "bash", "code": "true",
                       "callback_url": "http://127.0.0.1:%d/" % (rcv.port ^ 1)})
        assert r.status == 400 and r.json["error"]["field"] == "callback_url", r
        s.ctl("stop-pool")
        assert wait_for(lambda: not os.path.exists("/proc/%d" % pid), timeout=10), \
            "the deliverer outlived the pool"
        assert not (state / "callbacks.pid").exists()
        # The secret stays for the next start: receivers are configured with it.
        s.ctl("start-pool")
        assert sec.read_bytes().rstrip(b"\n") == secret
        assert (state / "callbacks.pid").exists()
    finally:
        s.ctl("stop")
        rcv.close()
        assert not (state / "callbacks.pid").exists()
        shutil.rmtree(state, ignore_errors=True)
