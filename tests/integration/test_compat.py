"""The request shapes of the systems sandbox-fcgi replaces (docs/MIGRATING.md),
through nginx and the pool: aliases mean exactly their fields, an alias with
its field is refused naming both, output_encoding base64 returns the exact
bytes, per-request compile limits are applied, the handler's context is
filled in, and the client's job id is echoed and logged."""
import base64
import os
import random

import pytest

from conftest import wait_log

MEASURED = ("execution_time_ms", "cpu_time_ms", "memory_peak_kb", "request_id")


def ok(r):
    assert r.status == 200, r
    return r.json


def err400(r, field, code="invalid_field"):
    assert r.status == 400, r
    e = r.json["error"]
    assert e["code"] == code and e.get("field") == field, e
    return e


def same(a, b):
    a, b = dict(a), dict(b)
    for k in MEASURED:
        a.pop(k, None)
        b.pop(k, None)
    return a == b


def b64(data):
    return base64.b64encode(data).decode()


def random_bytes(n, seed):
    rnd = random.Random(seed)
    # Invalid UTF-8 (lone continuation bytes, 0xff, overlong and cut
    # sequences) and NUL for sure, then random bytes.
    return (b"\x00\xff\xc0\x80\xe2\x82\x80\x00\xed\xa0\x80\xf5\"\\\n\r\t"
            + bytes(rnd.randrange(256) for _ in range(n)))


# --- output_encoding ---------------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, 2, 3, 70000])
def test_base64_output_is_byte_exact(svc, size):
    out, err = random_bytes(size, size), random_bytes(size + 1, -size - 1)
    req = {"runtime": "bash", "code": "cat o.bin; cat e.bin >&2",
           "files": [{"path": "o.bin", "content": b64(out), "encoding": "base64"},
                     {"path": "e.bin", "content": b64(err), "encoding": "base64"}],
           "output_encoding": "base64"}
    d = ok(svc.run(req))
    assert d["status"] == "success", d
    assert d["output_encoding"] == "base64"
    assert base64.b64decode(d["stdout"], validate=True) == out
    assert base64.b64decode(d["stderr"], validate=True) == err
    assert d["stdout_truncated"] is False and d["stderr_truncated"] is False
    # The same run as text: what base64 saves the client from.
    req["output_encoding"] = "utf8"
    t = ok(svc.run(req))
    assert t["output_encoding"] == "utf8"
    assert "\ufffd" in t["stdout"] and t["stdout"].encode() != out
    del req["output_encoding"]
    assert "output_encoding" not in ok(svc.run(req))


def test_base64_output_truncated_at_the_cap(svc):
    d = ok(svc.run({"runtime": "bash", "code": "head -c 5000 /dev/urandom | tee /dev/stderr",
                    "limits": {"max_output_bytes": 1024}, "output_encoding": "base64"}))
    out, err = base64.b64decode(d["stdout"]), base64.b64decode(d["stderr"])
    assert len(out) == 1024 and out == err, d
    assert d["stdout_truncated"] and d["stderr_truncated"]


def test_base64_handler_traceback_and_exec_error(svc):
    d = ok(svc.run({"runtime": "python", "event": {}, "output_encoding": "base64",
                    "code": "import sys\ndef handler(e, c):\n"
                            "    sys.stderr.buffer.write(b'\\xff\\x00')\n"
                            "    sys.stderr.flush()\n    raise ValueError('no')\n"}))
    assert d["status"] == "error" and d["handler_error"] == "ValueError: no", d
    err = base64.b64decode(d["stderr"])
    assert err.startswith(b"\xff\x00\n") and b"ValueError: no" in err, err
    d = ok(svc.run({"runtime": "bash", "code": "", "entrypoint": "pyhton x",
                    "output_encoding": "base64"}))
    assert base64.b64decode(d["stderr"]) == b"pyhton: command not found\n", d
    assert d["exec_error"]["errno"] == "ENOENT"


@pytest.mark.parametrize("value", ["hex", "UTF8", "", 64, None, ["base64"]])
def test_bad_output_encoding(svc, value):
    err400(svc.run({"runtime": "bash", "code": "", "output_encoding": value}), "output_encoding")


# --- aliases -----------------------------------------------------------------

FILES = [{"path": "in.txt", "content": "data\n"}]
ALIASES = [
    # (with the alias, with our field)
    ({"language": "python", "code": "print(1)"}, {"runtime": "python", "code": "print(1)"}),
    ({"runtime": "bash", "code": "echo $A", "env_vars": {"A": "x"}},
     {"runtime": "bash", "code": "echo $A", "env": {"A": "x"}}),
    ({"runtime": "bash", "entrypoint": "cat in.txt", "input_files": FILES},
     {"runtime": "bash", "entrypoint": "cat in.txt", "files": FILES}),
    ({"runtime": "bash", "code": "sleep 5", "timeout_s": 0.3},
     {"runtime": "bash", "code": "sleep 5", "limits": {"wall_time_ms": 300}}),
    ({"runtime": "bash", "code": "sleep 5", "timeout": 1},
     {"runtime": "bash", "code": "sleep 5", "limits": {"wall_time_ms": 1000}}),
]


@pytest.mark.parametrize("alias,field", ALIASES, ids=["language", "env_vars", "input_files",
                                                      "timeout_s", "timeout"])
def test_alias_means_its_field(svc, alias, field):
    a, f = ok(svc.run(alias)), ok(svc.run(field))
    assert same(a, f), (a, f)


def test_timeout_alias_times_out_at_its_value(svc):
    d = ok(svc.run({"runtime": "bash", "code": "sleep 5", "timeout_s": 0.4}))
    assert d["status"] == "timeout", d
    assert 350 <= d["execution_time_ms"] < 3000, d
    # Killed at the limit: the signal says so, there is no exit status.
    assert d["signal"] == 9 and d["exit_code"] is None, d


@pytest.mark.parametrize("req,both", [
    ({"runtime": "python", "language": "python", "code": ""}, ("runtime", "language")),
    ({"runtime": "bash", "code": "", "env": {}, "env_vars": {}}, ("env", "env_vars")),
    ({"runtime": "bash", "code": "", "files": [], "input_files": []}, ("files", "input_files")),
    ({"runtime": "bash", "code": "", "limits": {"wall_time_ms": 5}, "timeout_s": 1},
     ("limits.wall_time_ms", "timeout_s")),
    ({"runtime": "bash", "code": "", "timeout_s": 1, "timeout": 1}, ("timeout_s", "timeout")),
    ({"runtime": "bash", "code": "", "limits": {"wall_time_ms": 5}, "timeout": 1},
     ("limits.wall_time_ms", "timeout")),
    ({"runtime": "bash", "code": "", "job_id": "a", "execution_id": "a"}, ("job_id", "execution_id")),
])
def test_alias_and_field_is_400_naming_both(svc, req, both):
    """The field named is the alias (the second name); the message has both."""
    e = err400(svc.run(req), both[1])
    assert "%s and %s" % both in e["message"], e


@pytest.mark.parametrize("req,field,code", [
    ({"language": 3, "code": ""}, "language", "invalid_field"),
    ({"language": "cobol", "code": ""}, "language", "unknown_runtime"),
    ({"runtime": "bash", "code": "", "env_vars": {"1X": "a"}}, "env_vars.1X", "invalid_field"),
    ({"runtime": "bash", "code": "", "env_vars": []}, "env_vars", "invalid_field"),
    ({"runtime": "bash", "code": "", "input_files": [{"path": "../a", "content": ""}]},
     "input_files[0].path", "invalid_field"),
    ({"runtime": "bash", "code": "", "input_files": [{"path": "a"}]},
     "input_files[0].content", "missing_field"),
    ({"runtime": "bash", "code": "", "timeout_s": 0}, "timeout_s", "invalid_field"),
    ({"runtime": "bash", "code": "", "timeout": 300}, "timeout", "invalid_field"),
    ({"runtime": "bash", "code": "", "timeout": "5"}, "timeout", "invalid_field"),
    ({"runtime": "bash", "code": "", "job_id": "a b"}, "job_id", "invalid_field"),
    ({"runtime": "bash", "code": "", "job_id": "x" * 129}, "job_id", "invalid_field"),
    ({"runtime": "bash", "code": "", "execution_id": 5}, "execution_id", "invalid_field"),
])
def test_bad_alias_value_names_the_alias(svc, req, field, code):
    e = err400(svc.run(req), field, code)
    assert field.split(".")[0].split("[")[0] in e["message"], e


# --- job id ------------------------------------------------------------------

@pytest.mark.parametrize("key", ["job_id", "execution_id"])
def test_job_id_echoed_and_logged(svc, key):
    jid = "compat-%s-%d" % (key, os.getpid())
    r = svc.run({"runtime": "bash", "code": "echo out > o.txt; echo hi", key: jid,
                 "files": [{"path": "a.txt", "content": "12345"},
                           {"path": "b.txt", "content": "678"}],
                 "outputs": ["o.txt"]})
    d = ok(r)
    assert d["job_id"] == jid and "execution_id" not in d, d
    rid = r.header("x-request-id")
    fin = wait_log(svc, lambda l: l.get("request_id") == rid
                   and l.get("event") == "sandbox.run.finish")
    start = [l for l in svc.logs() if l.get("request_id") == rid
             and l.get("event") == "sandbox.run.start"]
    assert len(fin) == 1 and len(start) == 1, (start, fin)
    s, f = start[0], fin[0]
    assert s["job_id"] == jid and f["job_id"] == jid
    assert s["timeout_s"] == 10 and s["input_files"] == 2 and s["input_bytes"] == 8, s
    assert f["timed_out"] is False and f["input_files"] == 2 and f["input_bytes"] == 8, f
    assert f["output_files"] == 1 and f["output_bytes"] == 4, f
    assert isinstance(f["duration_ms"], int) and f["duration_ms"] >= 0, f


def test_no_job_id_is_null_in_logs_and_absent_in_answer(svc):
    r = svc.run({"runtime": "bash", "code": "sleep 5", "timeout_s": 0.2})
    d = ok(r)
    assert "job_id" not in d
    rid = r.header("x-request-id")
    fin = wait_log(svc, lambda l: l.get("request_id") == rid
                   and l.get("event") == "sandbox.run.finish")
    assert fin and fin[0]["job_id"] is None and fin[0]["timed_out"] is True, fin


# --- handler context ---------------------------------------------------------

# The module sleeps 300 ms when loaded, before the handler is called: the
# remaining time the context gives must show that it was spent.
CTX_CODE = {
    "python": "import time\ntime.sleep(0.3)\n\ndef handler(event, context):\n    return context\n",
    "node": "const end = Date.now() + 300;\nwhile (Date.now() < end) {}\n"
            "exports.handler = async (event, context) => context;\n",
}


@pytest.mark.parametrize("runtime", ["python", "node"])
def test_handler_context_has_request_id_and_remaining_time(svc, runtime):
    rid = "compat-ctx-%s-%d" % (runtime, os.getpid())
    r = svc.run({"runtime": runtime, "code": CTX_CODE[runtime], "event": {"x": 1},
                 "env": {"SANDBOX_REQUEST_ID": "spoofed", "SANDBOX_WALL_MS": "1"},
                 "limits": {"wall_time_ms": 8000}}, headers={"X-Request-Id": rid})
    d = ok(r)
    assert d["status"] == "success", d
    ctx = d["result"]
    assert ctx["request_id"] == d["request_id"] == r.header("x-request-id") == rid, (ctx, d)
    assert ctx["function_name"] == "main.handler"
    assert 0 < ctx["remaining_time_ms"] <= 8000 - 300, ctx
    # With timeout_s the wall limit (and so the budget) is the alias's.
    d = ok(svc.run({"runtime": runtime, "code": CTX_CODE[runtime], "event": None,
                    "timeout_s": 3}))
    assert 0 < d["result"]["remaining_time_ms"] <= 3000 - 300, d
    assert d["result"]["request_id"] == d["request_id"]


def test_context_env_only_in_handler_mode(svc):
    d = ok(svc.run({"runtime": "bash", "code": "echo \"[${SANDBOX_REQUEST_ID-}|${SANDBOX_WALL_MS-}]\""}))
    assert d["stdout"] == "[|]\n", d


# --- compile limits ----------------------------------------------------------

@pytest.fixture(scope="module")
def compilers(svc):
    names = {t["name"] for t in svc.request("GET", "/api/sandbox/runtimes").json["templates"]}
    if "compilers" not in names:
        if os.environ.get("SANDBOX_MUST_WORK") == "1":
            pytest.fail("no compilers template and SANDBOX_MUST_WORK=1")
        pytest.skip("no compilers template built")


C_HELLO = '#include <stdio.h>\nint main(void) { puts("hello c"); return 0; }\n'


def test_compile_wall_time_limit_is_applied(svc, compilers):
    d = ok(svc.run({"template": "compilers", "runtime": "c", "code": C_HELLO,
                    "limits": {"compile_wall_time_ms": 5}}, timeout=120))
    assert d["status"] == "compile_error", d
    assert d["compile"]["status"] == "timeout", d["compile"]
    assert d["compile"]["execution_time_ms"] < 3000, d["compile"]
    d = ok(svc.run({"template": "compilers", "runtime": "c", "code": C_HELLO,
                    "limits": {"compile_wall_time_ms": 30000, "compile_memory_mb": 512}},
                   timeout=120))
    assert d["status"] == "success" and d["stdout"] == "hello c\n", d


def test_compile_memory_limit_is_applied(svc, compilers):
    iso = svc.request("GET", "/api/sandbox/info").json["isolation"]
    if not iso["memory_limit"]:
        pytest.skip("no memory cgroup: the limit is a per-process rlimit")
    # 2^30 tokens: far over 24 MiB almost at once, far under the 30 s wall.
    bomb = ("\n".join(["#define X0 1+"] + ["#define X%d X%d X%d" % (i, i - 1, i - 1)
                                          for i in range(1, 31)])
            + "\nint v = X30 0;\nint main(void) { return 0; }\n")
    d = ok(svc.run({"template": "compilers", "runtime": "c", "code": bomb,
                    "limits": {"compile_memory_mb": 24}}, timeout=120))
    assert d["status"] == "compile_error", d
    assert d["compile"]["status"] == "memory_limit", d["compile"]


@pytest.mark.parametrize("limits,field", [
    ({"compile_wall_time_ms": 30001}, "limits.compile_wall_time_ms"),
    ({"compile_wall_time_ms": 0}, "limits.compile_wall_time_ms"),
    ({"compile_memory_mb": 513}, "limits.compile_memory_mb"),
    ({"compile_memory_mb": 15}, "limits.compile_memory_mb"),
    ({"compile_memory_mb": 1.5}, "limits.compile_memory_mb"),
])
def test_compile_limits_out_of_range(svc, compilers, limits, field):
    e = err400(svc.run({"template": "compilers", "runtime": "c", "code": C_HELLO,
                        "limits": limits}), field)
    assert "from" in e["message"], e


def test_compile_limits_on_runtime_without_compile_step(svc):
    e = err400(svc.run({"runtime": "python", "code": "",
                        "limits": {"compile_wall_time_ms": 100}}), "limits.compile_wall_time_ms")
    assert "no compile step" in e["message"], e
