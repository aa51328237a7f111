"""The answer's status and the sandbox.run.finish log line's status come
from one function (resp_status), so they agree for every status (issue 9:
the log used to say `error` for a compile error and `success` for a handler
that raised)."""
import pytest

from conftest import wait_log

HANDLER_RAISES = "def handler(event, context=None):\n    raise ValueError('nope')\n"

CASES = {
    "success": {"runtime": "bash", "code": "echo hi"},
    "error": {"runtime": "bash", "code": "exit 3"},
    "timeout": {"runtime": "bash", "code": "sleep 5", "limits": {"wall_time_ms": 300}},
    "memory_limit": {"runtime": "python", "code": "x = bytearray(400 << 20)\nprint(len(x))",
                     "limits": {"memory_mb": 64}},
    "killed": {"runtime": "bash", "code": "kill -9 $$"},
    "handler_error": {"runtime": "python", "code": HANDLER_RAISES, "event": {}},
    "compile_error": {"runtime": "c", "template": "compilers", "code": "int main(void) { nope }"},
}
WANT = dict((k, k) for k in CASES)
WANT["handler_error"] = "error"


def finish_line(svc, rid):
    return wait_log(svc, lambda l: l.get("request_id") == rid and l.get("event") == "sandbox.run.finish")


@pytest.mark.parametrize("case", sorted(CASES))
def test_log_status_is_the_answers(svc, case):
    if case == "compile_error":
        info = svc.request("GET", "/api/sandbox/runtimes").json
        if "compilers" not in {t["name"] for t in info["templates"]}:
            pytest.skip("no compilers template built")
    r = svc.run(CASES[case])
    assert r.status == 200, r
    assert r.json["status"] == WANT[case], r.json
    lines = finish_line(svc, r.header("x-request-id"))
    assert len(lines) == 1, lines
    assert lines[0]["status"] == r.json["status"], (lines[0], r.json)
