"""Callback delivery (src/callback, sandbox-callbacks) against a test HTTP
receiver on 127.0.0.1: a signed POST verified here with hmac, a retry after
a 500, a host not on the allowlist never connected to, and a pending
callback that survives a killed deliverer. The asynchronous run endpoint
is not needed: tests/callback/cb_tool queues a callback as it would.
Only loopback addresses are used."""
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

from conftest import find_binary

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

    def __init__(self, port=None, answers=(200,)):
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
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
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
