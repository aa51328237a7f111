"""Operations details (issue 12, item 10): the cheap liveness endpoint,
HEAD on the GET endpoints, a client's X-Request-Id, and the access log of
requests answered by nginx's error pages."""
import json
import time

from conftest import API_KEY, wait_for, wait_log

GETS = ("/api/sandbox/health", "/api/sandbox/info", "/api/sandbox/runtimes",
        "/api/sandbox/metrics", "/api/sandbox/openapi.json")


def test_live_is_answered_without_keys_or_rate_limits(svc):
    p = svc.guarded_port    # API keys on, 2 r/s with a burst of 2
    r = svc.request("GET", "/api/sandbox/live", port=p)
    assert r.status == 200, r
    assert r.header("content-type") == "application/json"
    assert r.json["status"] == "alive"
    assert r.json["request_id"] == r.header("x-request-id")
    statuses = [svc.request("GET", "/api/sandbox/live", port=p).status for _ in range(20)]
    assert statuses == [200] * 20
    # the same burst on the deep check is limited (so the limit is active)
    h = {"Authorization": "Bearer " + API_KEY}
    deep = [svc.request("GET", "/api/sandbox/info", port=p, headers=h).status for _ in range(8)]
    assert 429 in deep, deep
    time.sleep(2.5)   # let the guarded instance's bucket refill for later tests
    r = svc.request("HEAD", "/api/sandbox/live")
    assert r.status == 200 and r.body == b""


def test_head_on_get_endpoints(svc):
    for path in GETS:
        g = svc.request("GET", path)
        h = svc.request("HEAD", path)
        assert h.status == g.status == 200, (path, g, h)
        assert h.body == b"", (path, h.body[:100])
        assert h.header("content-type") == g.header("content-type"), path
        assert h.header("cache-control") == g.header("cache-control"), path
        assert h.header("x-request-id"), path
    # HEAD on the POST endpoint is still a 405 naming POST
    r = svc.request("HEAD", "/api/sandbox/run")
    assert r.status == 405 and r.header("allow") == "POST"


def test_head_answered_by_the_responder(svc):
    """The responder itself answers HEAD (nginx passes it through): its log
    names the request, and no 405 is logged for it."""
    rid = "head-check-%d" % time.monotonic_ns()
    r = svc.request("HEAD", "/api/sandbox/health", headers={"X-Request-Id": rid})
    assert r.status == 200, r
    assert r.header("x-request-id") == rid


def test_valid_client_request_id_is_echoed_everywhere(svc):
    rid = "client-Req_1.%d" % time.monotonic_ns()
    r = svc.run({"runtime": "bash", "code": "echo hi\n"}, headers={"X-Request-Id": rid})
    assert r.status == 200, r
    assert r.header("x-request-id") == rid
    assert r.json["request_id"] == rid
    assert wait_log(svc, lambda l: l.get("request_id") == rid and
                    l.get("event") == "sandbox.run.finish")
    # nginx's own answers too (404 outside the API, 413 from its body cap)
    r = svc.request("GET", "/nope", headers={"X-Request-Id": rid})
    assert r.status == 404 and r.header("x-request-id") == rid and r.json["request_id"] == rid
    access = svc.state / "nginx" / "logs" / "access.log"
    assert wait_for(lambda: any(json.loads(l).get("request_id") == rid
                                for l in access.read_text().splitlines()), 2)


def test_invalid_client_request_id_is_replaced(svc):
    bad = ["a" * 65, "has space", 'quote"x', "semi;colon", "ünïcode", "x\\y"]
    for b in bad:
        r = svc.request("GET", "/api/sandbox/info", headers={"X-Request-Id": b.encode("utf-8")})
        assert r.status == 200, (b, r)
        rid = r.header("x-request-id")
        assert rid != b and len(rid) == 32 and all(c in "0123456789abcdef" for c in rid), (b, rid)
        assert r.json["request_id"] == rid


def test_access_log_keeps_method_and_uri_of_error_pages(svc):
    """A request answered by nginx's error_page (here 401 on the guarded
    instance, and 403 on the metrics from elsewhere) is logged with the
    client's method and path, not GET /_sandbox_error/NNN."""
    rid = "errpage-%d" % time.monotonic_ns()
    p = svc.guarded_port
    r = svc.request("POST", "/api/sandbox/run?x=secret", b"{}",
                    {"Content-Type": "application/json", "X-Request-Id": rid}, port=p)
    assert r.status == 401, r
    access = svc.state / "nginx-guarded" / "logs" / "access.log"

    def line():
        for l in access.read_text().splitlines():
            d = json.loads(l)
            if d.get("request_id") == rid:
                return d
        return None
    assert wait_for(line, 2)
    d = line()
    assert d["method"] == "POST" and d["uri"] == "/api/sandbox/run" and d["status"] == 401, d
