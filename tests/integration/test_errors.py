"""Every client error code, and a table of bad requests."""
import json

import pytest

JSON = {"Content-Type": "application/json"}


def post(svc, raw, headers=None):
    return svc.request("POST", "/api/sandbox/run", raw, JSON if headers is None else headers)


def test_415_unless_json(svc):
    for ct in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx", None):
        h = {"Content-Type": ct} if ct else {}
        r = post(svc, b'{"runtime":"python","code":"print(1)"}', h)
        assert r.status == 415, (ct, r)
        assert r.json["error"]["code"] == "unsupported_media_type"
    r = post(svc, b'{"runtime":"bash","code":"true"}',
             {"Content-Type": "Application/JSON; charset=utf-8"})
    assert r.status == 200, r


def test_413_from_nginx_before_upload(svc):
    info = svc.request("GET", "/api/sandbox/info").json
    big = b'{"runtime":"python","code":"' + b"x" * (info["caps"]["max_body_bytes"] + 10) + b'"}'
    r = post(svc, big)
    assert r.status == 413, r
    assert r.json["error"]["code"] == "too_large"
    assert r.header("x-request-id")


def test_400_malformed_json_has_line_and_column(svc):
    r = post(svc, b'{\n  "runtime": "python",\n  "code": }')
    assert r.status == 400, r
    e = r.json["error"]
    assert e["code"] == "invalid_json"
    assert "line 3" in e["message"] and "column" in e["message"], e


def test_400_duplicate_keys(svc):
    r = post(svc, b'{"runtime":"python","code":"print(1)","code":"print(2)"}')
    assert r.status == 400, r
    assert "duplicate" in r.json["error"]["message"].lower()


def test_400_unknown_runtime_lists_available(svc):
    r = post(svc, json.dumps({"runtime": "cobol", "code": "x"}).encode())
    assert r.status == 400, r
    msg = r.json["error"]["message"]
    assert "python" in msg and "node" in msg and "bash" in msg, msg


BAD = [
    # (name, request object or raw bytes, field expected in error.field or None)
    ("not an object", [1, 2], None),
    ("missing runtime", {"code": "print(1)"}, "runtime"),
    ("runtime wrong type", {"runtime": 3, "code": "x"}, "runtime"),
    ("unknown field", {"runtime": "python", "code": "x", "colour": "red"}, "colour"),
    ("no code no files", {"runtime": "python"}, None),
    ("code wrong type", {"runtime": "python", "code": ["x"]}, "code"),
    ("files wrong type", {"runtime": "python", "files": {"a": "b"}}, "files"),
    ("absolute path", {"runtime": "python", "code": "x", "files": [{"path": "/etc/x", "content": ""}]}, "files[0].path"),
    ("traversal", {"runtime": "python", "code": "x", "files": [{"path": "a/../../x", "content": ""}]}, "files[0].path"),
    ("NUL in path", {"runtime": "python", "code": "x", "files": [{"path": "a\u0000b", "content": ""}]}, "files[0].path"),
    ("control char in path", {"runtime": "python", "code": "x", "files": [{"path": "a\nb", "content": ""}]}, "files[0].path"),
    ("empty component", {"runtime": "python", "code": "x", "files": [{"path": "a//b", "content": ""}]}, "files[0].path"),
    ("dot component", {"runtime": "python", "code": "x", "files": [{"path": "./a", "content": ""}]}, "files[0].path"),
    ("too deep", {"runtime": "python", "code": "x", "files": [{"path": "/".join(["d"] * 17) + "/f", "content": ""}]}, "files[0].path"),
    ("long component", {"runtime": "python", "code": "x", "files": [{"path": "a" * 256, "content": ""}]}, "files[0].path"),
    ("bad base64", {"runtime": "python", "code": "x", "files": [{"path": "a", "content": "!!", "encoding": "base64"}]}, None),
    ("bad encoding", {"runtime": "python", "code": "x", "files": [{"path": "a", "content": "", "encoding": "rot13"}]}, None),
    ("wall too big", {"runtime": "python", "code": "x", "limits": {"wall_time_ms": 120001}}, "limits.wall_time_ms"),
    ("wall zero", {"runtime": "python", "code": "x", "limits": {"wall_time_ms": 0}}, "limits.wall_time_ms"),
    ("wall negative", {"runtime": "python", "code": "x", "limits": {"wall_time_ms": -5}}, "limits.wall_time_ms"),
    ("wall float", {"runtime": "python", "code": "x", "limits": {"wall_time_ms": 1.5}}, "limits.wall_time_ms"),
    ("wall string", {"runtime": "python", "code": "x", "limits": {"wall_time_ms": "100"}}, "limits.wall_time_ms"),
    ("memory huge", {"runtime": "python", "code": "x", "limits": {"memory_mb": 10 ** 12}}, "limits.memory_mb"),
    ("unknown limit", {"runtime": "python", "code": "x", "limits": {"disk_mb": 1}}, None),
    ("args not strings", {"runtime": "python", "code": "x", "args": [1]}, None),
    ("env not object", {"runtime": "python", "code": "x", "env": ["A=1"]}, "env"),
    ("env bad name", {"runtime": "python", "code": "x", "env": {"A=B": "1"}}, None),
    ("env NUL value", {"runtime": "python", "code": "x", "env": {"A": "x\u0000y"}}, None),
    ("env too many", {"runtime": "python", "code": "x", "env": {"V%d" % i: "1" for i in range(1000)}}, None),
    ("env huge", {"runtime": "python", "code": "x", "env": {"A": "x" * (1 << 20)}}, None),
    ("stdin wrong type", {"runtime": "python", "code": "x", "stdin": 5}, "stdin"),
    ("entrypoint unbalanced quote", {"runtime": "python", "code": "x", "entrypoint": "python 'a"}, "entrypoint"),
    ("outputs wrong type", {"runtime": "python", "code": "x", "outputs": "*.txt"}, "outputs"),
    ("too many files", {"runtime": "python", "files": [{"path": "f%d" % i, "content": ""} for i in range(33)]}, None),
]


@pytest.mark.parametrize("name,req,field", BAD, ids=[b[0] for b in BAD])
def test_bad_request_table(svc, name, req, field):
    r = post(svc, json.dumps(req).encode())
    assert r.status in (400, 413), r
    e = r.json["error"]
    assert e["code"] and e["message"]
    if field is not None:
        assert e.get("field") == field, e


def test_deep_nesting_rejected(svc):
    deep = b'{"runtime":"python","code":"x","event":' + b"[" * 100000 + b"]" * 100000 + b"}"
    r = post(svc, deep)
    assert r.status == 400, r
    assert svc.request("GET", "/api/sandbox/health").status == 200


def test_code_too_large(svc):
    r = post(svc, json.dumps({"runtime": "python", "code": "#" * (128 * 1024 + 1)}).encode())
    assert r.status in (400, 413), r
    assert r.json["error"].get("field") == "code"
