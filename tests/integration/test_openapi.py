"""docs/openapi.json against the code and the running service (issue 12,
item 8): the document is served as built in, it is structurally OpenAPI
3.1 with Draft 2020-12 schemas, it documents exactly the routes of
src/fcgi/route.c, and every real answer of a corpus of requests (each
endpoint, each runtime, files, handler, compile, each error class) is
valid against the schema of its path, method and status. The result and
error objects are closed (additionalProperties: false), so a field the
code adds without documenting it fails here."""
import copy
import json
import pathlib
import re

import pytest
from jsonschema import Draft202012Validator, RefResolver

from conftest import API_KEY, REPO, ROOTFS_BASE

DOC_PATH = REPO / "docs" / "openapi.json"
PREFIX = "/api/sandbox/"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@pytest.fixture(scope="module")
def doc():
    return json.loads(DOC_PATH.read_text())


def router_routes():
    """(path, method) of every entry of route.c's table."""
    text = (REPO / "src" / "fcgi" / "route.c").read_text()
    found = re.findall(r'\{\s*ROUTE_PREFIX\s*"([^"]+)"\s*,\s*"([A-Z]+)"', text)
    assert found, "route.c's table not found: update this parser"
    return {(PREFIX + p, m.lower()) for p, m in found}


def runs_routes():
    """(path, method) of route.c's table of the asynchronous runs' endpoints
    ({run_id} as in the document). Several methods per path: the 405 check
    of test_wrong_method_matches is test_async.py's for these."""
    text = (REPO / "src" / "fcgi" / "route.c").read_text()
    found = re.findall(r'\{\s*ROUTE_RUNS\s*(?:"([^"]*)")?\s*,\s*"([A-Z]+)"', text)
    assert found, "route.c's runs_routes table not found: update this parser"
    return {(PREFIX + "runs" + p.replace("{id}", "{run_id}"), m.lower()) for p, m in found}


def router_allow(path):
    """The Allow header of a 405 on path: its methods in route.c's order,
    HEAD after GET."""
    text = (REPO / "src" / "fcgi" / "route.c").read_text()
    out = []
    for p, m in re.findall(r'\{\s*ROUTE_PREFIX\s*"([^"]+)"\s*,\s*"([A-Z]+)"', text):
        if PREFIX + p == path:
            out += [m, "HEAD"] if m == "GET" else [m]
    return ", ".join(out)


def concrete(path):
    """A request path for a documented template: a well-formed session id
    and a file name ({id} and {path} are routed before they are checked)."""
    return path.replace("{id}", "0123456789abcdef0123456789abcdef").replace("{path}", "a.txt")


def nginx_routes():
    """Endpoints nginx answers itself: an exact location under the prefix
    that returns 200 (the liveness probe)."""
    text = (REPO / "nginx" / "snippets" / "sandbox-location.conf").read_text()
    found = re.findall(r"location\s*=\s*(%s[^\s{]+)\s*\{[^}]*?return 200 " % re.escape(PREFIX), text)
    assert found, "no nginx-answered endpoint found: update this parser"
    return {(p, "get") for p in found}


def all_routes():
    """What the service answers: the router's and nginx's endpoints, and
    HEAD wherever GET is (route.c, RFC 9110 9.3.2)."""
    r = router_routes() | runs_routes() | nginx_routes()
    return r | {(p, "head") for p, m in r if m == "get"}


def refs(x):
    if isinstance(x, dict):
        if "$ref" in x:
            yield x["$ref"]
        for v in x.values():
            yield from refs(v)
    elif isinstance(x, list):
        for v in x:
            yield from refs(v)


def pointer(doc, ref):
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def response_schema(doc, path, method, status):
    op = doc["paths"][path][method]
    resp = op["responses"].get(str(status))
    assert resp is not None, "%s %s: status %d is not documented" % (method.upper(), path, status)
    if "$ref" in resp:
        resp = pointer(doc, resp["$ref"])
    return resp["content"]["application/json"]["schema"]


def check_answer(doc, path, method, r):
    """Validates a real answer; returns the decoded body."""
    assert r.header("content-type") == "application/json", r
    body = json.loads(r.body)
    schema = response_schema(doc, path, method, r.status)
    v = Draft202012Validator(schema, resolver=RefResolver.from_schema(doc))
    errors = sorted(v.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "%s %s %d does not match the document: %s\n%s" % (
        method.upper(), path, r.status,
        "; ".join("%s: %s" % ("/".join(map(str, e.path)), e.message[:200]) for e in errors),
        r.body[:500])
    if isinstance(body, dict) and "request_id" in body:
        assert r.header("x-request-id") == body["request_id"]
    return body


# --- the document itself ---------------------------------------------------

def test_document_is_openapi_3_1(doc):
    assert doc["openapi"].startswith("3.1.")
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["jsonSchemaDialect"] == "https://json-schema.org/draft/2020-12/schema"
    for ref in refs(doc):
        pointer(doc, ref)                      # every $ref resolves
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
    for path, item in doc["paths"].items():
        assert path.startswith(PREFIX), path
        for method, op in item.items():
            assert method in METHODS, (path, method)
            assert op["operationId"] and op["responses"], (path, method)
            for status, resp in op["responses"].items():
                assert re.fullmatch(r"[1-5][0-9][0-9]", status), (path, method, status)
                if "$ref" in resp:
                    resp = pointer(doc, resp["$ref"])
                assert resp["description"], (path, method, status)
                for media in resp.get("content", {}).values():
                    Draft202012Validator.check_schema(media["schema"])


def test_document_has_exactly_the_routers_endpoints(doc):
    documented = {(p, m) for p, item in doc["paths"].items() for m in item}
    assert documented == all_routes(), "route.c / the nginx snippet and docs/openapi.json differ"


def test_result_and_error_objects_are_closed(doc):
    """An undocumented field must fail validation, or nothing here could."""
    s = doc["components"]["schemas"]
    for name in ("RunResult", "CompileStep", "ExecError", "OutputFile", "Error", "Info",
                 "Isolation", "Runtime", "Template", "Runtimes", "RunRequest"):
        assert s[name]["additionalProperties"] is False, name
    assert s["Error"]["properties"]["error"]["additionalProperties"] is False
    resolver = RefResolver.from_schema(doc)
    good = {"error": {"code": "not_found", "message": "x"}, "request_id": "a"}
    v = Draft202012Validator(s["Error"], resolver=resolver)
    assert v.is_valid(good)
    bad = copy.deepcopy(good)
    bad["error"]["hint"] = "undocumented"
    assert not v.is_valid(bad)
    bad = copy.deepcopy(good)
    bad["error"]["code"] = "no_such_code"
    assert not v.is_valid(bad)


def test_served_document_is_the_file(svc, doc):
    r = svc.request("GET", PREFIX + "openapi.json")
    assert r.status == 200, r
    assert r.body == DOC_PATH.read_bytes(), "the responder embeds a stale docs/openapi.json: rebuild"
    assert r.header("x-request-id")
    check_answer(doc, PREFIX + "openapi.json", "get", r)


# --- real answers ------------------------------------------------------------

GETS = ["health", "info", "runtimes", "live"]


@pytest.mark.parametrize("name", GETS)
def test_get_endpoints_match(svc, doc, name):
    r = svc.request("GET", PREFIX + name)
    assert r.status == 200, r
    check_answer(doc, PREFIX + name, "get", r)


def test_metrics_matches(svc, doc):
    r = svc.request("GET", PREFIX + "metrics")
    assert r.status == 200, r
    ctype = r.header("content-type")
    assert ctype in doc["paths"][PREFIX + "metrics"]["get"]["responses"]["200"]["content"], ctype
    assert b"sandbox_pool_size" in r.body


@pytest.mark.parametrize("path", sorted({p for p, m in all_routes() if m == "head" and "{" not in p} -
                                         {p for p, m in runs_routes()}))
def test_head_matches(svc, doc, path):
    r = svc.request("HEAD", path)
    assert str(r.status) in doc["paths"][path]["head"]["responses"], r
    assert r.status == 200, r
    assert r.body == b""
    assert r.header("x-request-id")


def has_template(name):
    return (pathlib.Path(ROOTFS_BASE) / name / "current").exists()


RUNS = {
    "python_files": ({"runtime": "python", "code": "import os\nos.mkdir('out')\n"
                      "open('out/a.csv','w').write('a,b\\n')\nprint('hi')",
                      "outputs": ["out/*.csv"]}, "success"),
    "node": ({"runtime": "node", "code": "console.log(1+1)"}, "success"),
    "bash_error": ({"runtime": "bash", "code": "echo oops >&2; exit 3",
                    "files": [{"path": "d.bin", "content": "AAE=", "encoding": "base64"}],
                    "env": {"A": "1"}, "stdin": "x", "args": ["a"],
                    "limits": {"wall_time_ms": 5000, "memory_mb": 128}}, "error"),
    "timeout": ({"runtime": "bash", "code": "sleep 5", "limits": {"wall_time_ms": 200}}, "timeout"),
    "exec_error": ({"runtime": "python", "code": "", "entrypoint": "pyhton main.py"}, "error"),
    "handler_ok": ({"runtime": "python", "code": "def handler(e, c=None):\n    return {'x': e}",
                    "event": [1, "two"]}, "success"),
    "handler_raises": ({"runtime": "node", "code": "exports.handler = () => { throw new Error('no') }",
                        "event": None}, "error"),
    "handler_missing": ({"runtime": "python", "code": "import os\nos._exit(0)", "event": {}}, "error"),
    "c_compiles": ({"template": "compilers", "runtime": "c",
                    "code": "#include <stdio.h>\nint main(void){puts(\"ok\");return 0;}"}, "success"),
    "c_compile_error": ({"template": "compilers", "runtime": "c", "code": "int main(void) { nope }"},
                        "compile_error"),
    "compat_base64": ({"language": "bash", "code": "printf '\\377\\0'; echo e >&2", "job_id": "j-1",
                       "output_encoding": "base64", "timeout_s": 2.5, "env_vars": {"A": "1"},
                       "input_files": [{"path": "a", "content": ""}]}, "success"),
    "compat_utf8": ({"runtime": "bash", "code": "echo", "execution_id": "e:1",
                     "output_encoding": "utf8", "timeout": 1}, "success"),
    "c_compile_limits": ({"template": "compilers", "runtime": "c", "output_encoding": "base64",
                          "code": "int main(void){return 0;}",
                          "limits": {"compile_wall_time_ms": 20000, "compile_memory_mb": 256}},
                         "success"),
    "cpp": ({"template": "compilers", "runtime": "cpp",
             "code": "#include <iostream>\nint main(){std::cout<<1;}"}, "success"),
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_run_results_match(svc, doc, name):
    req, status = RUNS[name]
    if req.get("template") == "compilers" and not has_template("compilers"):
        pytest.skip("no compilers template under %s" % ROOTFS_BASE)
    r = svc.run(req)
    assert r.status == 200, r
    body = check_answer(doc, PREFIX + "run", "post", r)
    assert body["status"] == status, body
    if name == "python_files":
        assert body["files"] and body["files"][0]["path"] == "out/a.csv"
    if name == "exec_error":
        assert body["exec_error"]["errno"] == "ENOENT"
    if name.startswith("handler"):
        assert "result" in body
    if name.startswith("compat_"):
        assert body["job_id"] in ("j-1", "e:1") and body["output_encoding"] in ("base64", "utf8")
    if name.startswith("c_") or name == "cpp":
        assert "compile" in body


ERRORS = {
    "invalid_json": (b"{", 400),
    "not_object": (b"[1]", 400),
    "unknown_field": ({"runtime": "python", "code": "", "priority": 1}, 400),
    "missing_field": ({"code": "print(1)"}, 400),
    "invalid_field": ({"runtime": "python", "code": "", "limits": {"memory_mb": 1}}, 400),
    "invalid_path": ({"runtime": "python", "files": [{"path": "/etc/x", "content": ""}]}, 400),
    "unknown_runtime": ({"runtime": "cobol", "code": ""}, 400),
    "unknown_template": ({"runtime": "python", "template": "nope", "code": ""}, 400),
    "too_large": ({"runtime": "python", "code": "#" * (128 * 1024 + 1)}, 413),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_run_errors_match(svc, doc, name):
    req, status = ERRORS[name]
    body = req if isinstance(req, bytes) else json.dumps(req).encode()
    r = svc.request("POST", PREFIX + "run", body, {"Content-Type": "application/json"})
    assert r.status == status, r
    err = check_answer(doc, PREFIX + "run", "post", r)["error"]
    assert err["code"] == {"not_object": "invalid_json", "invalid_path": "invalid_field"}.get(name, name)


def test_unsupported_media_type_matches(svc, doc):
    r = svc.request("POST", PREFIX + "run", b"{}", {"Content-Type": "text/plain"})
    assert r.status == 415, r
    assert check_answer(doc, PREFIX + "run", "post", r)["error"]["code"] == "unsupported_media_type"


def test_body_over_cap_matches(svc, doc):
    r = svc.request("POST", PREFIX + "run", b" " * (25 << 20), {"Content-Type": "application/json"})
    assert r.status == 413, r
    check_answer(doc, PREFIX + "run", "post", r)


@pytest.mark.parametrize("path,method", sorted(r for r in router_routes() if r[1] != "head"))
def test_wrong_method_matches(svc, doc, method, path):
    allow = router_allow(path)
    other = [m for m in ("POST", "GET", "PUT", "PATCH") if m not in allow.split(", ")][0]
    r = svc.request(other, concrete(path), b"{}" if other != "GET" else None,
                    {"Content-Type": "application/json"})
    assert r.status == 405, r
    assert r.header("allow") == allow
    assert check_answer(doc, path, method, r)["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/api/sandbox/", "/api/sandbox/nope", "/api/sandbox/run/x",
                                  "/api/sandbox/openapi.yaml", "/elsewhere"])
def test_undocumented_paths_are_404(svc, doc, path):
    """Vice versa: what the document does not list does not exist. The 404
    body is the documented 404 of every operation (components/responses)."""
    assert path not in doc["paths"]
    r = svc.request("GET", path)
    assert r.status == 404, r
    body = json.loads(r.body)
    v = Draft202012Validator(pointer(doc, "#/components/responses/NotFound")
                             ["content"]["application/json"]["schema"],
                             resolver=RefResolver.from_schema(doc))
    assert v.is_valid(body), body


def test_nginx_errors_match(svc, doc):
    """401 and 429 from the guarded nginx, against every GET operation's
    documented 401/429 (one shared components/responses entry each)."""
    p = svc.guarded_port
    r = svc.request("GET", PREFIX + "info", port=p)
    assert r.status == 401, r
    check_answer(doc, PREFIX + "info", "get", r)
    h = {"Authorization": "Bearer " + API_KEY}
    answers = [svc.request("GET", PREFIX + "runtimes", port=p, headers=h) for _ in range(8)]
    limited = [a for a in answers if a.status == 429]
    assert limited, [a.status for a in answers]
    check_answer(doc, PREFIX + "runtimes", "get", limited[0])
