"""Live output (docs/API.md, "Live output"): POST /run with
Accept: application/x-ndjson or "stream": true answers 200 at once and
writes one JSON object per line while the program runs, through the real
nginx (the shipped snippet) and pool."""
import base64
import json
import os
import socket
import time

import pytest
from jsonschema import Draft202012Validator, RefResolver

from conftest import REPO, alive, job_pids, wait_for, wait_log, ROOTFS_BASE

NDJSON = "application/x-ndjson"


class Stream:
    """A POST /run read line by line as it arrives (HTTP/1.1, chunked),
    each line with the monotonic time it was complete."""

    def __init__(self, port, req, headers=None, timeout=60, path="/api/sandbox/run"):
        body = req if isinstance(req, bytes) else json.dumps(req).encode()
        h = {"Host": "x", "Content-Type": "application/json", "Accept": NDJSON,
             "Content-Length": str(len(body)), "Connection": "close"}
        h.update(headers or {})
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        head = "POST %s HTTP/1.1\r\n" % path + "".join(
            "%s: %s\r\n" % (k, v) for k, v in h.items() if v is not None) + "\r\n"
        self.sock.sendall(head.encode() + body)
        self.raw = b""
        self.body = b""
        self.eof = False
        while b"\r\n\r\n" not in self.raw:
            self._recv()
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for l in lines[1:]:
            k, v = l.split(":", 1)
            self.headers[k.strip().lower()] = v.strip()
        self.chunked = self.headers.get("transfer-encoding", "").lower() == "chunked"

    def _recv(self):
        d = self.sock.recv(65536)
        if not d:
            self.eof = True
        self.raw += d
        return d

    def _decode(self):
        """Moves complete chunks from raw to body."""
        if not self.chunked:
            self.body += self.raw
            self.raw = b""
            return
        while b"\r\n" in self.raw:
            size_line, rest = self.raw.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                self.eof = True
                self.raw = b""
                return
            if len(rest) < size + 2:
                return
            self.body += rest[:size]
            self.raw = rest[size + 2:]

    def line(self):
        """The next complete line (decoded JSON) and when it came; None at
        the end."""
        while True:
            self._decode()
            if b"\n" in self.body:
                l, self.body = self.body.split(b"\n", 1)
                return json.loads(l), time.monotonic()
            if self.eof:
                assert not self.body, self.body
                return None
            self._recv()

    def lines(self):
        out = []
        while True:
            x = self.line()
            if x is None:
                return out
            out.append(x)

    def close(self):
        self.sock.close()


DOC = json.loads((REPO / "docs" / "openapi.json").read_text())


def check_documented(lines):
    """Every line is a StreamLine of docs/openapi.json (closed objects)."""
    v = Draft202012Validator(DOC["components"]["schemas"]["StreamLine"],
                             resolver=RefResolver.from_schema(DOC))
    for l in lines:
        errors = list(v.iter_errors(l))
        assert not errors, (l, [e.message[:200] for e in errors])


def stream(svc, req, headers=None, timeout=60, path="/api/sandbox/run"):
    s = Stream(svc.port, req, headers, timeout, path)
    try:
        assert s.status == 200, (s.status, s.raw, s.body)
        assert s.headers["content-type"] == NDJSON, s.headers
        lines = [l for l, _ in s.lines()]
    finally:
        s.close()
    check_documented(lines)
    return s.headers, lines


def test_documented_lines_follow_the_whole_answer():
    """StreamResult and StreamError are RunResult and Error plus "type"."""
    sc = DOC["components"]["schemas"]
    for line, base in (("StreamResult", "RunResult"), ("StreamError", "Error")):
        want = dict(sc[base])
        got = dict(sc[line])
        got_props = dict(got.pop("properties"))
        assert got_props.pop("type")["const"] == line[6:].lower()
        assert got_props == want.pop("properties"), line
        assert got.pop("required") == ["type"] + want.pop("required", []), line
        got.pop("description"), want.pop("description", None)
        assert got == want, line
    for path in ("/api/sandbox/run", "/api/sandbox/sessions/{id}/run"):
        assert "application/x-ndjson" in DOC["paths"][path]["post"]["responses"]["200"]["content"]


def output_of(lines, kind, step=None):
    """A stream's bytes rebuilt from its data lines."""
    out = b""
    for l in lines:
        if l["type"] == kind and l.get("step") == step:
            out += base64.b64decode(l["data"]) if l.get("encoding") == "base64" \
                else l["data"].encode("utf-8")
    return out


def check_shape(headers, lines):
    """start first, result (or error) last, data lines between."""
    assert lines[0]["type"] == "start", lines[:2]
    assert lines[0]["request_id"] == headers["x-request-id"]
    assert lines[-1]["type"] in ("result", "error"), lines[-1]
    for l in lines[1:-1]:
        assert l["type"] in ("stdout", "stderr"), l
        assert set(l) <= {"type", "data", "encoding", "step"}, l
        assert l.get("encoding", "base64") == "base64"
    return lines[-1]


# --- lines come as the program runs ----------------------------------------

PRINT_SLEEP_PRINT = "import sys, time\nprint('first', flush=True)\ntime.sleep(1)\nprint('second')\n"


def test_lines_arrive_while_the_program_runs(svc):
    s = Stream(svc.port, {"runtime": "python", "code": PRINT_SLEEP_PRINT})
    try:
        assert s.status == 200 and s.headers["content-type"] == NDJSON, s.headers
        # nginx takes the responder's X-Accel-Buffering for itself
        assert "x-accel-buffering" not in s.headers
        got = s.lines()
    finally:
        s.close()
    lines = [l for l, _ in got]
    check_shape(s.headers, lines)
    first = [t for l, t in got if l["type"] == "stdout" and "first" in l["data"]]
    end = [t for l, t in got if l["type"] == "result"]
    assert first and end, lines
    assert end[0] - first[0] >= 0.5, "the first line came with the result: %r" % lines
    assert output_of(lines, "stdout") == b"first\nsecond\n"
    assert lines[-1]["status"] == "success" and lines[-1]["stdout"] == ""


def test_stream_field_streams_without_accept(svc):
    headers, lines = stream(svc, {"runtime": "bash", "code": "echo hi", "stream": True},
                            headers={"Accept": None})
    assert check_shape(headers, lines)["status"] == "success"
    assert output_of(lines, "stdout") == b"hi\n"


# --- the result line is the whole answer's ---------------------------------

TIMINGS = ("execution_time_ms", "cpu_time_ms", "memory_peak_kb", "request_id")


def comparable(result):
    r = {k: v for k, v in result.items() if k not in TIMINGS + ("type",)}
    if "compile" in r:
        r["compile"] = {k: v for k, v in r["compile"].items() if k not in TIMINGS}
    return r


def has_template(name):
    return os.path.isdir(os.path.join(ROOTFS_BASE, name, "current"))


SAME = {
    "python": {"runtime": "python", "code": "import sys\nprint('out')\n"
               "sys.stderr.write('err\\n')\nopen('o.txt','w').write('f')\nsys.exit(3)",
               "outputs": ["*.txt"]},
    "handler_error": {"runtime": "python", "code": "import sys\ndef handler(e, c=None):\n"
                      "    sys.stderr.write('no newline')\n    raise ValueError('bad')",
                      "event": {"x": 1}},
    "handler_ok": {"runtime": "python", "code": "def handler(e, c=None):\n    return e",
                   "event": {"x": [1, 2]}},
    "exec_error": {"runtime": "bash", "code": "", "entrypoint": "pyhton main.py"},
    "timeout": {"runtime": "bash", "code": "echo a; sleep 5", "limits": {"wall_time_ms": 300}},
    "job_id": {"runtime": "bash", "code": "echo a", "job_id": "client-7:x"},
    "base64_handler_error": {"runtime": "python", "output_encoding": "base64",
                             "code": "import sys\ndef handler(e, c=None):\n"
                                     "    sys.stdout.buffer.write(b'\\xff\\x00')\n"
                                     "    sys.stderr.write('partial')\n    raise KeyError('k')",
                             "event": 1},
    "c": {"template": "compilers", "runtime": "c",
          "code": "#include <stdio.h>\nint main(void){puts(\"hi\");return 0;}"},
    "c_compile_error": {"template": "compilers", "runtime": "c", "code": "int main(void){oops}"},
}


@pytest.mark.parametrize("name", sorted(SAME))
def test_result_line_matches_the_whole_answer(svc, name):
    req = SAME[name]
    if req.get("template") == "compilers" and not has_template("compilers"):
        pytest.skip("no compilers template under %s" % ROOTFS_BASE)
    whole = svc.run(req).json
    headers, lines = stream(svc, req)
    res = check_shape(headers, lines)
    assert res["type"] == "result"
    assert res["request_id"] == headers["x-request-id"]
    # stdout and stderr came as lines; the result keeps what follows them
    want = comparable(whole)
    got = comparable(res)
    out = {}
    for step, key in ((None, "run"), ("compile", "compile")):
        named = "compile" in whole and step is None
        out[key] = (output_of(lines, "stdout", "run" if named else step),
                    output_of(lines, "stderr", "run" if named else step))
    if req.get("output_encoding") == "base64":
        # the whole answer's bytes: the streamed ones, then the result's
        b64 = base64.b64decode
        assert out["run"][0] + b64(got.pop("stdout")) == b64(want.pop("stdout"))
        assert out["run"][1] + b64(got.pop("stderr")) == b64(want.pop("stderr"))
    else:
        assert out["run"][0].decode() + got.pop("stdout") == want.pop("stdout")
        assert out["run"][1].decode() + got.pop("stderr") == want.pop("stderr")
    if "compile" in want:
        wc, gc = want["compile"], got["compile"]
        assert out["compile"][0].decode() + gc.pop("stdout") == wc.pop("stdout")
        assert out["compile"][1].decode() + gc.pop("stderr") == wc.pop("stderr")
    assert got == want


# --- bytes: UTF-8 across reads, anything else in base64 --------------------

BINARY = r"""
import os, sys, time
data = bytes(range(256)) * 64 + "é€😀 text\n".encode() + b"\xff\xfe\x00ok"
os.write(1, data)
time.sleep(0.2)
# a character split across two writes (and reads): held back, then whole
os.write(1, "€".encode()[:2]); time.sleep(0.3); os.write(1, "€".encode()[2:] + b"\n")
os.write(2, b"\xc3")
"""


def test_binary_output_comes_back_byte_exact(svc):
    headers, lines = stream(svc, {"runtime": "python", "code": BINARY})
    res = check_shape(headers, lines)
    assert res["status"] == "success", res
    want = bytes(range(256)) * 64 + "é€😀 text\n".encode() + b"\xff\xfe\x00ok" + "€\n".encode()
    assert output_of(lines, "stdout") == want
    assert any(l.get("encoding") == "base64" for l in lines if l["type"] == "stdout")
    # the split character was held back and sent as text, not damaged
    assert any(l["type"] == "stdout" and l.get("encoding") is None and "€" in l["data"]
               for l in lines), lines[-4:]
    # a lone lead byte at the stream's end: base64, exactly that byte
    assert output_of(lines, "stderr") == b"\xc3"
    assert [l.get("encoding") for l in lines if l["type"] == "stderr"] == ["base64"]


# --- caps --------------------------------------------------------------------

def test_caps_stop_data_lines(svc):
    req = {"runtime": "python",
           "code": "import sys\nfor i in range(200):\n    print('x' * 99, flush=True)\n"
                   "sys.stderr.write('e' * 10)",
           "limits": {"max_output_bytes": 1024}}
    headers, lines = stream(svc, req)
    res = check_shape(headers, lines)
    assert output_of(lines, "stdout") == (b"x" * 99 + b"\n") * 10 + b"x" * 24
    assert output_of(lines, "stderr") == b"e" * 10
    assert res["stdout_truncated"] is True and res["stderr_truncated"] is False
    assert res["status"] == "success"


# --- a client that leaves ---------------------------------------------------

def test_client_leaving_a_stream_cancels_the_run(svc):
    assert svc.wait_pool()
    before = set(svc.responders())
    req = {"runtime": "bash", "code": "echo started; sleep 60\n",
           "limits": {"wall_time_ms": 60000}}
    s = Stream(svc.port, req)
    try:
        assert s.status == 200
        assert s.line()[0]["type"] == "start"
        l, _ = s.line()
        assert l == {"type": "stdout", "data": "started\n"}, l
        jail = [p for r in svc.responders() for p in job_pids(r)]
        assert jail, "the job is not running"
    finally:
        s.close()
    t0 = time.monotonic()
    assert wait_for(lambda: not [p for p in jail if alive(p)], 10.0), "jail not killed"
    assert time.monotonic() - t0 < 10
    assert set(svc.responders()) == before, "the responder must survive a client that left"
    rid = s.headers["x-request-id"]
    fin = wait_log(svc, lambda l: l.get("event") == "sandbox.run.finish" and l.get("request_id") == rid)
    assert [(l["status"], l["cancelled"]) for l in fin] == [("killed", True)], fin
    assert svc.run({"runtime": "bash", "code": "echo ok"}).json["stdout"] == "ok\n"


# --- what stays as it was ---------------------------------------------------

@pytest.mark.parametrize("body,status,field", [
    (b"{", 400, None),
    ({"runtime": "cobol", "code": ""}, 400, None),
    ({"runtime": "python", "code": "", "stream": "yes"}, 400, "stream"),
    ({"runtime": "python", "code": "", "stream": 1}, 400, "stream"),
    ({"runtime": "python", "code": "", "stream": None}, 400, "stream"),
    ({"runtime": "python", "code": "#" * (128 * 1024 + 1), "stream": True}, 413, "code"),
])
def test_refused_requests_stay_json_errors(svc, body, status, field):
    s = Stream(svc.port, body)
    try:
        assert s.status == status, (s.status, s.headers)
        assert s.headers["content-type"] == "application/json"
        while not s.eof:
            s._recv()
        s._decode()
        err = json.loads(s.body)["error"]
    finally:
        s.close()
    if field:
        assert err["field"] == field, err


@pytest.mark.parametrize("accept,stream_field", [
    ("application/json", None), ("*/*", None), (None, None),
    ("application/x-ndjson;q=0", None), ("application/x-ndjson", False),
    ("text/plain, application/x-ndjsonx", None),
])
def test_other_accepts_get_the_whole_answer(svc, accept, stream_field):
    req = {"runtime": "bash", "code": "echo hi"}
    if stream_field is not None:
        req["stream"] = stream_field
    h = {"Accept": accept} if accept else {}
    r = svc.run(req, headers=h)
    assert r.status == 200 and r.header("content-type") == "application/json", r
    assert r.json["stdout"] == "hi\n"


@pytest.mark.parametrize("accept", ["application/json;q=0.5, application/x-ndjson",
                                    "Application/X-NDJSON; q=0.1"])
def test_accept_lists_naming_ndjson_stream(svc, accept):
    headers, lines = stream(svc, {"runtime": "bash", "code": "echo hi"}, headers={"Accept": accept})
    assert check_shape(headers, lines)["status"] == "success"


# --- a client that does not read --------------------------------------------

FLOOD = "import os\nb = b'x' * 65536\nwhile True:\n    os.write(1, b)\n"


def test_a_client_that_does_not_read_cannot_stretch_the_time_limit(svc):
    """The supervisor writes the lines itself, between its looks at the
    clock: a client that reads nothing must not stop it in a write. The
    output waits in the responder (within the cap) and comes after."""
    cap = 16 << 20
    rid = "stream-noread-%d" % os.getpid()
    req = {"runtime": "python", "code": FLOOD,
           "limits": {"wall_time_ms": 1500, "max_output_bytes": cap}}
    s = Stream(svc.port, req, headers={"X-Request-Id": rid})
    try:
        # Reading nothing, our socket's buffer (autotuning grows it only
        # as we read), nginx's and the responder's fill up long before 16 MiB.
        assert wait_for(lambda: [p for r in svc.responders() for p in job_pids(r)], 10), \
            "the job never started"
        t0 = time.monotonic()
        # 1.5 s of wall time: the job is gone well within 5 s, unread
        assert wait_for(lambda: not [p for r in svc.responders() for p in job_pids(r)], 10)
        assert time.monotonic() - t0 < 5, "the job outlived its limit while the client did not read"
        start = wait_log(svc, lambda l: l.get("event") == "sandbox.run.start" and
                         l.get("request_id") == rid)
        assert start
        lines = [l for l, _ in s.lines()]
    finally:
        s.close()
    res = check_shape(s.headers, lines)
    assert res["status"] == "timeout" and res["stdout_truncated"] is True, res
    assert res["execution_time_ms"] < 3000, res
    assert output_of(lines, "stdout") == b"x" * cap


INTERLEAVED = r"""
import os
for i in range(80000):
    os.write(1, b"o%07d" % i + b"." * 92 + b"\n")
    os.write(2, b"e%07d" % i + b"," * 92 + b"\n")
"""


def test_interleaved_streams_stay_exact_when_the_client_lags(svc):
    """stdout and stderr in turns, about 8 MiB each, while the client reads
    nothing: far more reads wait than the responder remembers the order
    of, and each stream still comes back whole and in order."""
    req = {"runtime": "python", "code": INTERLEAVED,
           "limits": {"max_output_bytes": 16 << 20, "wall_time_ms": 30000}}
    s = Stream(svc.port, req)
    try:
        assert s.status == 200
        assert wait_for(lambda: [p for r in svc.responders() for p in job_pids(r)], 10)
        assert wait_for(lambda: not [p for r in svc.responders() for p in job_pids(r)], 30)
        lines = [l for l, _ in s.lines()]
    finally:
        s.close()
    res = check_shape(s.headers, lines)
    assert res["status"] == "success", res
    assert output_of(lines, "stdout") == b"".join(b"o%07d" % i + b"." * 92 + b"\n" for i in range(80000))
    assert output_of(lines, "stderr") == b"".join(b"e%07d" % i + b"," * 92 + b"\n" for i in range(80000))
    assert max(len(l.get("data", "")) for l in lines[1:-1]) <= 65536
    # The order was given up for a while: more than a megabyte of one
    # stream in a row, where runs in order are a few reads (else this test
    # did not test the overflow).
    longest, cur, kind = 0, 0, None
    for l in lines[1:-1]:
        cur = cur + len(l["data"]) if l["type"] == kind else len(l["data"])
        kind = l["type"]
        longest = max(longest, cur)
    assert longest > 1 << 20, longest


# --- session runs (POST /api/sandbox/sessions/{id}/run) ---------------------

def ses_path(sid):
    return "/api/sandbox/sessions/%s/run" % sid


def read_error(s):
    """The JSON error answer of a Stream that was refused."""
    assert s.headers["content-type"] == "application/json", s.headers
    while not s.eof:
        s._recv()
    s._decode()
    return json.loads(s.body)


def test_session_run_streams_while_it_runs_and_persists_its_files(svc):
    from test_session_runs import create, delete, get, put
    sid = create(svc)
    put(svc, sid, "in.txt", b"from the workspace\n")
    code = ("import time\nprint(open('in.txt').read(), end='', flush=True)\ntime.sleep(1)\n"
            "open('out.txt', 'w').write('written while streaming')\nprint('second')\n")
    s = Stream(svc.port, {"runtime": "python", "code": code}, path=ses_path(sid))
    try:
        assert s.status == 200 and s.headers["content-type"] == NDJSON, s.headers
        got = s.lines()
    finally:
        s.close()
    lines = [l for l, _ in got]
    check_documented(lines)
    res = check_shape(s.headers, lines)
    first = [t for l, t in got if l["type"] == "stdout" and "workspace" in l["data"]]
    end = [t for l, t in got if l["type"] == "result"]
    assert first and end, lines
    assert end[0] - first[0] >= 0.5, "the first line came with the result: %r" % lines
    assert output_of(lines, "stdout") == b"from the workspace\nsecond\n"
    assert res["status"] == "success", res
    # The result line is made after the copy-back: it says what it did.
    ses = res["session"]
    assert ses["id"] == sid and ses["committed"] is True, ses
    assert ses["quota_exceeded"] is False and ses["deleted"] is False, ses
    assert ses["bytes_used"] == 2 * 4096 + 4096, ses   # in.txt, main.py, out.txt
    assert get(svc, sid, "out.txt").body == b"written while streaming"
    assert get(svc, sid, "in.txt").body == b"from the workspace\n"
    assert delete(svc, sid).status == 204


SES_SAME = {"entrypoint": ["sh", "-c", "echo out; echo err >&2; printf f > o.txt; exit 3"],
            "outputs": ["*.txt"]}


def test_session_result_line_matches_the_whole_answer(svc):
    from test_session_runs import create, delete, srun
    sid = create(svc)
    # The run leaves the workspace as it found it after the first time: the
    # two answers can be the same, session object included.
    assert srun(svc, sid, SES_SAME).status == 200
    whole = srun(svc, sid, SES_SAME)
    assert whole.status == 200, whole
    whole = whole.json
    headers, lines = stream(svc, dict(SES_SAME, stream=True), path=ses_path(sid),
                            headers={"Accept": None})
    res = check_shape(headers, lines)
    assert res["type"] == "result" and res["request_id"] == headers["x-request-id"]
    want, got = comparable(whole), comparable(res)
    assert output_of(lines, "stdout").decode() + got.pop("stdout") == want.pop("stdout")
    assert output_of(lines, "stderr").decode() + got.pop("stderr") == want.pop("stderr")
    assert got == want
    assert got["session"] == {"id": sid, "committed": True, "quota_exceeded": False,
                              "deleted": False, "bytes_used": 4096}, got
    assert got["status"] == "error" and got["exit_code"] == 3, got
    assert delete(svc, sid).status == 204


def test_session_stream_over_quota_during_the_run_is_in_the_result_line(svc):
    from test_session_runs import create, delete, get, listing
    sid = create(svc, disk_mb=1)
    headers, lines = stream(svc, {"entrypoint": ["sh", "-c", "echo a > keep; echo ok"]},
                            path=ses_path(sid))
    assert check_shape(headers, lines)["session"]["committed"] is True
    headers, lines = stream(svc, {"entrypoint": ["sh", "-c", "head -c 2000000 /dev/zero > big; "
                                                 "echo rc=$?"]}, path=ses_path(sid))
    res = check_shape(headers, lines)
    assert b"rc=1" in output_of(lines, "stdout"), lines
    assert res["session"]["quota_exceeded"] is True and res["session"]["committed"] is False
    assert set(listing(svc, sid)) == {"keep"} and get(svc, sid, "keep").body == b"a\n"
    assert delete(svc, sid).status == 204


def test_client_leaving_a_session_stream_cancels_without_commit(svc):
    from test_session_runs import create, delete, get, listing, srun
    assert svc.wait_pool()
    sid = create(svc)
    req = {"entrypoint": ["sh", "-c", "echo changed > keep.txt; echo new > new.txt; "
                                      "echo started; sleep 60"],
           "limits": {"wall_time_ms": 60000}, "stream": True}
    headers, lines = stream(svc, {"entrypoint": ["sh", "-c", "echo kept > keep.txt"]},
                            path=ses_path(sid))
    assert check_shape(headers, lines)["session"]["committed"] is True
    s = Stream(svc.port, req, path=ses_path(sid))
    try:
        assert s.status == 200
        assert s.line()[0]["type"] == "start"
        l, _ = s.line()
        assert l == {"type": "stdout", "data": "started\n"}, l
        jail = [p for r in svc.responders() for p in job_pids(r)]
        assert jail, "the job is not running"
    finally:
        s.close()
    assert wait_for(lambda: not [p for p in jail if alive(p)], 10.0), "jail not killed"
    rid = s.headers["x-request-id"]
    fin = wait_log(svc, lambda l: l.get("event") == "sandbox.run.finish" and l.get("request_id") == rid)
    assert [(l["status"], l["cancelled"], l["session_id"]) for l in fin] == \
        [("killed", True, sid)], fin
    ops = wait_log(svc, lambda l: l.get("event") == "sandbox.session.run" and l.get("request_id") == rid)
    assert [(l["committed"], l["streamed"]) for l in ops] == [(False, True)], ops
    # Nothing the killed run did reached the workspace; the lock is free.
    assert set(listing(svc, sid)) == {"keep.txt"}
    assert get(svc, sid, "keep.txt").body == b"kept\n"
    r = srun(svc, sid, {"entrypoint": ["cat", "keep.txt"]})
    assert r.status == 200 and r.json["stdout"] == "kept\n", r
    assert delete(svc, sid).status == 204


def test_session_stream_refusals_come_before_the_200(svc):
    """The run's own refusals of the client's files are found before the
    200: the same 4xx JSON errors as the whole answer's, nothing run."""
    from test_openapi import check_answer
    from test_session_runs import create, delete, listing, put, srun
    sid = create(svc, disk_mb=1)
    put(svc, sid, "keep.bin", b"k" * 600000)
    assert srun(svc, sid, {"entrypoint": ["sh", "-c", "mkdir -p d; ln -s /tmp l"]}).status == 200
    before = listing(svc, sid)
    cases = [
        # 600000 B kept (147 pages) + 500000 B (123 pages) > 256 pages
        ({"entrypoint": "ls", "files": [{"path": "f", "content": "x" * 500000}]},
         413, "quota_exceeded", "files"),
        # replacing keep.bin frees its pages first: fits
        ({"entrypoint": "ls", "files": [{"path": "keep.bin", "content": "y" * 1000000}]},
         200, None, None),
        ({"entrypoint": "ls", "files": [{"path": "d", "content": "x"}]}, 400, "invalid_field", "files"),
        ({"entrypoint": "ls", "files": [{"path": "l/x", "content": "x"}]}, 400, "invalid_field", "files"),
        ({"entrypoint": "ls", "files": [{"path": "keep.bin/x", "content": "x"}]},
         400, "invalid_field", "files"),
    ]
    for body, status, code, field in cases:
        body = dict(body, stream=True)
        s = Stream(svc.port, body, path=ses_path(sid))
        try:
            assert s.status == status, (body["files"][0]["path"], s.status)
            if status == 200:
                lines = [l for l, _ in s.lines()]
                assert lines[-1]["type"] == "result", lines[-1]
                continue
            err = read_error(s)
        finally:
            s.close()
        assert err["error"]["code"] == code and err["error"]["field"] == field, err
        # the whole answer says the same
        whole = srun(svc, sid, dict(body, stream=False))
        assert whole.status == status and whole.json["error"]["code"] == code, whole
        check_answer(DOC, "/api/sandbox/sessions/{id}/run", "post", whole)
    assert set(listing(svc, sid)) == set(before)
    assert delete(svc, sid).status == 204


def test_session_stream_workspace_over_memory_is_refused_before_the_200(svc):
    from test_session_runs import create, delete, put
    sid = create(svc, disk_mb=64)
    put(svc, sid, "big.bin", b"\0" * (24 << 20))
    s = Stream(svc.port, {"entrypoint": "true", "limits": {"memory_mb": 16}},
               path=ses_path(sid))
    try:
        assert s.status == 400, s.status
        err = read_error(s)["error"]
    finally:
        s.close()
    assert err["code"] == "invalid_field" and err["field"] == "limits.memory_mb", err
    assert delete(svc, sid).status == 204


def test_session_stream_refusal_found_by_the_run_is_the_error_line(svc):
    """What the pre-check cannot foresee: a long symlink charges a page of
    the run's /work that the quota's accounting does not count. Input files
    that then just miss are refused by the run itself, after the 200: the
    stream's last line is the whole answer's error."""
    from test_session_runs import create, delete, listing, srun
    sid = create(svc, disk_mb=1)
    target = "t" * 300
    r = srun(svc, sid, {"entrypoint": ["ln", "-s", target, "l"]})
    assert r.json["session"]["committed"] is True and r.json["session"]["bytes_used"] == 0, r
    body = {"entrypoint": "ls", "files": [{"path": "f", "content": "x" * (1 << 20)}]}
    whole = srun(svc, sid, body)
    assert whole.status == 413 and whole.json["error"]["code"] == "quota_exceeded", whole
    headers, lines = stream(svc, body, path=ses_path(sid))
    last = check_shape(headers, lines)
    assert last["type"] == "error", last
    assert last["error"] == whole.json["error"], (last, whole.json)
    assert last["request_id"] == headers["x-request-id"]
    assert set(listing(svc, sid)) == {"l"}
    assert delete(svc, sid).status == 204
