"""Every endpoint, routing errors, request ids, API keys and rate limits."""
import re

from conftest import API_KEY, POOL


def test_health_ok(svc):
    r = svc.request("GET", "/api/sandbox/health")
    assert r.status == 200, r
    assert r.json["status"] == "ok"
    assert r.header("content-type") == "application/json"


def test_info_reports_limits_isolation_and_pool(svc):
    r = svc.request("GET", "/api/sandbox/info")
    assert r.status == 200, r
    info = r.json
    assert info["version"]
    assert info["pool_size"] == POOL
    wall = info["limits"]["wall_time_ms"]
    assert wall["min"] <= wall["default"] <= wall["max"]
    assert wall["max"] == 120000
    iso = info["isolation"]
    assert iso["cgroup"] in ("v1", "v2", "none")
    assert set(["mount", "pid", "net", "user"]) <= set(iso["namespaces"])
    assert iso["seccomp"]
    assert info["caps"]["max_body_bytes"] > 0


def runtime_names(doc):
    names = set()
    def walk(x):
        if isinstance(x, dict):
            if "name" in x and ("file" in x or "version" in x or "aliases" in x):
                names.add(x["name"])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(doc)
    return names


def test_runtimes_lists_python_node_bash(svc):
    r = svc.request("GET", "/api/sandbox/runtimes")
    assert r.status == 200, r
    assert {"python", "node", "bash"} <= runtime_names(r.json)


def test_unknown_path_is_404_json(svc):
    for path in ("/api/sandbox/nope", "/api/sandbox/run/x", "/elsewhere"):
        r = svc.request("GET", path)
        assert r.status == 404, (path, r)
        assert r.json["error"]["code"] == "not_found"


def test_wrong_method_is_405_with_allow(svc):
    r = svc.request("GET", "/api/sandbox/run")
    assert r.status == 405, r
    assert r.header("allow") == "POST"
    assert r.json["error"]["code"] == "method_not_allowed"
    for path in ("/api/sandbox/health", "/api/sandbox/info", "/api/sandbox/runtimes"):
        r = svc.request("POST", path, b"{}", {"Content-Type": "application/json"})
        assert r.status == 405 and r.header("allow") == "GET, HEAD", (path, r)


def test_request_id_echoed_and_unique(svc):
    seen = set()
    for path in ("/api/sandbox/health", "/api/sandbox/nope", "/api/sandbox/info"):
        r = svc.request("GET", path)
        rid = r.header("x-request-id")
        assert rid and re.fullmatch(r"[0-9a-f]{32}", rid), r.headers
        assert r.json["request_id"] == rid
        assert rid not in seen
        seen.add(rid)
    # Exactly one X-Request-Id header (nginx hides the responder's copy).
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=10)
    c.request("GET", "/api/sandbox/health")
    resp = c.getresponse()
    assert len([h for h in resp.getheaders() if h[0].lower() == "x-request-id"]) == 1
    c.close()


def test_api_key_required_on_guarded_instance(svc):
    p = svc.guarded_port
    r = svc.request("GET", "/api/sandbox/health", port=p)
    assert r.status == 401, r
    assert r.json["error"]["code"] == "unauthorized"
    assert r.header("www-authenticate").startswith("Bearer")
    r = svc.request("GET", "/api/sandbox/health", port=p,
                    headers={"Authorization": "Bearer " + API_KEY.upper()})
    assert r.status == 401, "keys must compare case-sensitively"
    r = svc.request("GET", "/api/sandbox/health", port=p,
                    headers={"Authorization": "Bearer " + API_KEY + "x"})
    assert r.status == 401
    r = svc.request("GET", "/api/sandbox/health", port=p,
                    headers={"Authorization": "Bearer " + API_KEY})
    assert r.status == 200, r


def test_rate_limit_is_429_json(svc):
    p = svc.guarded_port
    h = {"Authorization": "Bearer " + API_KEY}
    statuses = [svc.request("GET", "/api/sandbox/nope", port=p, headers=h) for _ in range(8)]
    limited = [r for r in statuses if r.status == 429]
    assert limited, [r.status for r in statuses]
    assert limited[0].json["error"]["code"] == "rate_limited"
    assert limited[0].header("retry-after") == "1"
    assert {r.status for r in statuses} <= {404, 429}
