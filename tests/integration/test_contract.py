"""One contract, two doors: the same POST /api/sandbox/run body run by the
responder (over HTTP, nginx + pool) and by `sandbox-run --request` must give
the same answer, field by field. Both use the API's parser, defaults, job
builder and answer writer (src/api); this test is what keeps them from
drifting apart (issue 9, "one source for each fact").

Compared: every field except the measurements (execution_time_ms,
cpu_time_ms, memory_peak_kb, the same in "compile") and request_id (the
responder's alone). A refused request: the same 4xx error object, and
sandbox-run exits 2.
"""
import base64
import json
import os
import pathlib
import subprocess

import pytest

from conftest import ROOTFS_BASE as BASE, find_binary

MEASURED = ("execution_time_ms", "cpu_time_ms", "memory_peak_kb")


def sandbox_run_binary():
    if os.environ.get("SANDBOX_RUN"):
        return os.environ["SANDBOX_RUN"]
    return str(pathlib.Path(find_binary()).parents[1] / "cli" / "sandbox-run")


def cli(req):
    """(exit status, answer) of sandbox-run --request - with req on stdin."""
    p = subprocess.run([sandbox_run_binary(), "--rootfs-base", BASE, "--request", "-"],
                       input=json.dumps(req).encode(), capture_output=True, timeout=120)
    assert p.stdout.endswith(b"\n"), (p.returncode, p.stdout[:300], p.stderr[:300])
    return p.returncode, json.loads(p.stdout)


def comparable(answer):
    a = dict(answer)
    a.pop("request_id", None)
    # The service may serve a run warm (sandbox-run never does): the
    # answer is the same otherwise (test_warm.py).
    assert isinstance(a.pop("warm", False), bool)
    for k in MEASURED:
        assert isinstance(a.pop(k, 0), int)   # present and numeric in both
    if isinstance(a.get("compile"), dict):
        a["compile"] = comparable(a["compile"])
    return a


def both(svc, req):
    r = svc.run(req, timeout=120)
    rc, c = cli(req)
    return r, rc, c


def b64(s):
    return base64.b64encode(s).decode()


CASES = {
    "plain": {"runtime": "python", "code": "print('hello from the jail')"},
    "stdin_and_exit_code": {
        "runtime": "python",
        "code": "import sys\nd = sys.stdin.read()\nprint(d[::-1])\nsys.stderr.write('e')\nsys.exit(3)",
        "stdin": "abc\u00e9\n"},
    # The default environment (PATH, HOME, LANG, TMPDIR) and a user value.
    "env": {"runtime": "bash", "code": "env", "env": {"MY_VAR": "x y"}},
    "files_and_outputs": {
        "runtime": "bash", "entrypoint": "bash run.sh", "args": ["a b", "c"],
        "files": [
            {"path": "run.sh", "content": "mkdir -p out; printf '%s|' \"$@\" > out/args.txt\n"
                                          "cat data/in.bin > out/copy.bin; ./tool.sh\n"},
            {"path": "data/in.bin", "content": b64(bytes(range(256))), "encoding": "base64"},
            {"path": "tool.sh", "content": "#!/bin/sh\necho tool > out/tool.txt\n",
             "executable": True}],
        "outputs": ["out/*.txt", "out/*.bin"]},
    "invalid_utf8_output": {"runtime": "python",
                            "code": "import sys\nsys.stdout.buffer.write(b'a\\xff\\xc0\\x80b')"},
    "output_limit": {"runtime": "python", "code": "print('x' * 100000)",
                     "limits": {"max_output_bytes": 1024}},
    "wall_time_limit": {"runtime": "bash", "code": "sleep 30",
                        "limits": {"wall_time_ms": 500}},
    "signal": {"runtime": "bash", "code": "kill -SEGV $$"},
    "handler": {"runtime": "python", "handler": "main.handler", "event": {"n": [1, 2]},
                "code": "def handler(event, context=None):\n    return {'sum': sum(event['n'])}\n"},
    # docs/MIGRATING.md: aliases, the client's id, output as exact bytes.
    "compat_aliases_base64": {
        "language": "sh", "execution_id": "exec-1", "timeout": 2, "env_vars": {"A": "x"},
        "output_encoding": "base64",
        "input_files": [{"path": "d.bin", "content": b64(b"\xff\x00\x01"), "encoding": "base64"}],
        "code": "cat d.bin; printf '%s\\377' \"$A\" >&2"},
    "handler_raised": {"runtime": "python", "handler": "main.handler", "event": {},
                       "code": "def handler(event, context=None):\n    raise ValueError('no')\n"},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_answer(svc, name):
    r, rc, c = both(svc, CASES[name])
    assert r.status == 200, r
    assert rc == 0, c
    assert comparable(r.json) == comparable(c)


def test_compile_error_and_compile_run(svc):
    if not (pathlib.Path(BASE) / "compilers" / "current").exists():
        pytest.skip("no compilers template under %s" % BASE)
    for code in ("int main(void) { return 0 }",           # compile_error
                 "#include <stdio.h>\nint main(void) { puts(\"ok\"); return 4; }"):
        req = {"template": "compilers", "runtime": "c", "code": code}
        r, rc, c = both(svc, req)
        assert r.status == 200 and rc == 0, (r, c)
        assert "compile" in c
        assert comparable(r.json) == comparable(c)


REFUSED = {
    "unknown_field": {"runtime": "python", "code": "x", "bogus": 1},
    "bad_limit": {"runtime": "python", "code": "x", "limits": {"wall_time_ms": 0}},
    "unknown_runtime": {"runtime": "cobol", "code": "x"},
    "bad_path": {"runtime": "bash", "entrypoint": "true",
                 "files": [{"path": "../x", "content": ""}]},
    "not_an_object": [1, 2],
    "alias_and_field": {"runtime": "python", "language": "python", "code": "x"},
    "bad_alias_value": {"runtime": "bash", "code": "x", "input_files": [{"path": "/a", "content": ""}]},
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_same_refusal(svc, name):
    r, rc, c = both(svc, REFUSED[name])
    assert 400 <= r.status < 500, r
    assert rc == 2, c
    theirs = dict(r.json)
    theirs.pop("request_id", None)
    assert theirs == c


def test_request_mode_takes_no_job_options():
    """--request is the whole job: a job option beside it is a usage error
    (else the answer would silently differ from the API's)."""
    p = subprocess.run([sandbox_run_binary(), "--request", "-", "--wall-ms", "5"],
                       input=b"{}", capture_output=True, timeout=30)
    assert p.returncode == 2
    assert p.stdout == b""
    assert b"--wall-ms" in p.stderr and len(p.stderr.splitlines()) == 1
