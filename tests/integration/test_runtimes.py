"""The runtime matrix through the HTTP API (issue 4, Tests).

Every runtime the default template declares in GET /api/sandbox/runtimes
is run through real nginx and a real responder pool: a plain run, stdin,
args, files in and outputs back, and handler mode where the runtime
declares a handler shim (a 400 where it does not). Then version pins,
aliases, templates in the API, and the compiled runtimes of the
`compilers` template when it is built (skipped otherwise, or a failure
with SANDBOX_MUST_WORK=1).
"""
import base64
import json
import os

import pytest

from conftest import REPO, ROOTFS_BASE

BASE = ROOTFS_BASE
SAMPLES = REPO / "rootfs" / "samples"
EXPECTED = ("python", "node", "bash")
STDIN = "hello world\nsecond line\n"
ARGS = ["a b", "c", "\u00fcn\u00ef"]
DATA = "payload-42"

# Per-language programs (the languages differ; which runtimes exist, their
# versions and whether they have a handler come from the registry).
# "io": reads one stdin line, its args and data.txt; writes out/result.txt.
# "version": prints the interpreter's own version (x.y.z...).
PROGRAMS = {
    "python": {
        "plain": "import sys\nprint('out python')\nprint('err python', file=sys.stderr)\n",
        "exit3": "import sys\nprint('bye')\nsys.exit(3)\n",
        "io": ("import os, sys\n"
               "line = sys.stdin.readline().rstrip('\\n')\n"
               "data = open('data.txt').read().strip()\n"
               "os.makedirs('out', exist_ok=True)\n"
               "open('out/result.txt', 'w').write(data.upper() + '\\n')\n"
               "print('stdin=%s args=%s data=%s' % (line, ','.join(sys.argv[1:]), data))\n"),
        "version": "import sys\nprint('%d.%d.%d' % sys.version_info[:3])\n",
        "handler_main": ("import os\n"
                         "def handler(event, context=None):\n"
                         "    print('in handler')\n"
                         "    data = open('data.txt').read().strip()\n"
                         "    os.makedirs('out', exist_ok=True)\n"
                         "    open('out/h.txt', 'w').write(data)\n"
                         "    return {'sum': sum(event['n']), 'data': data,\n"
                         "            'fn': context['function_name']}\n"),
        "handler_other": ("pkg/app.py", "pkg.app.run",
                          "def run(event):\n    return [event, 'other']\n"),
        "handler_raises": "def handler(event, context=None):\n    raise ValueError('bad ' + event)\n",
    },
    "node": {
        "plain": "console.log('out node');\nconsole.error('err node');\n",
        "exit3": "console.log('bye');\nprocess.exitCode = 3;\n",
        "io": ("const fs = require('fs');\n"
               "const line = fs.readFileSync(0, 'utf8').split('\\n')[0];\n"
               "const data = fs.readFileSync('data.txt', 'utf8').trim();\n"
               "fs.mkdirSync('out', {recursive: true});\n"
               "fs.writeFileSync('out/result.txt', data.toUpperCase() + '\\n');\n"
               "console.log(`stdin=${line} args=${process.argv.slice(2).join(',')} data=${data}`);\n"),
        "version": "console.log(process.versions.node);\n",
        "handler_main": ("const fs = require('fs');\n"
                         "exports.handler = async (event, context) => {\n"
                         "  console.log('in handler');\n"
                         "  const data = fs.readFileSync('data.txt', 'utf8').trim();\n"
                         "  fs.mkdirSync('out', {recursive: true});\n"
                         "  fs.writeFileSync('out/h.txt', data);\n"
                         "  return {sum: event.n.reduce((a, b) => a + b, 0), data: data,\n"
                         "          fn: context.function_name};\n"
                         "};\n"),
        "handler_other": ("lib/app.js", "lib/app.run",
                          "module.exports.run = (event) => [event, 'other'];\n"),
        "handler_raises": "exports.handler = (event) => { throw new TypeError('bad ' + event); };\n",
    },
    "bash": {
        "plain": "echo 'out bash'\necho 'err bash' >&2\n",
        "exit3": "echo bye\nexit 3\n",
        "io": ("read -r line\n"
               "data=$(cat data.txt)\n"
               "mkdir -p out\n"
               "printf '%s\\n' \"${data^^}\" > out/result.txt\n"
               "IFS=,\n"
               "echo \"stdin=$line args=$* data=$data\"\n"),
        "version": "echo \"${BASH_VERSINFO[0]}.${BASH_VERSINFO[1]}.${BASH_VERSINFO[2]}\"\n",
    },
}


def b64(s):
    return base64.b64encode(s.encode()).decode()


def ok(r):
    assert r.status == 200, r
    d = r.json
    assert d["status"] == "success", d
    assert d["exit_code"] == 0 and d["signal"] is None, d
    return d


def err400(r, code, field):
    assert r.status == 400, r
    e = r.json["error"]
    assert e["code"] == code and e.get("field") == field, e
    return e


@pytest.fixture(scope="module")
def registry(svc):
    r = svc.request("GET", "/api/sandbox/runtimes")
    assert r.status == 200, r
    return {t["name"]: t for t in r.json["templates"]}


@pytest.fixture(scope="module")
def minimal(registry):
    assert "minimal" in registry, sorted(registry)
    return {rt["name"]: rt for rt in registry["minimal"]["runtimes"]}


def rt_of(minimal, name):
    assert name in minimal, "runtime %s missing from the registry: %s" % (name, sorted(minimal))
    return minimal[name]


# --- the registry ---------------------------------------------------------

def test_registry_has_python_node_bash(minimal):
    for name in EXPECTED:
        rt = rt_of(minimal, name)
        assert rt["version"] and rt["version"][0].isdigit(), rt
        assert rt["file"].startswith("main."), rt
        assert rt["compile"] is False, rt
    assert minimal["python"]["handler"] is True
    assert minimal["node"]["handler"] is True
    assert minimal["bash"]["handler"] is False


def test_every_declared_runtime_has_a_test_program(minimal):
    """A runtime added to minimal must get its row in this matrix."""
    assert set(minimal) <= set(PROGRAMS), set(minimal) - set(PROGRAMS)


def test_info_lists_the_same_templates(svc, registry):
    info = svc.request("GET", "/api/sandbox/info")
    assert info.status == 200, info
    info = info.json
    assert info["default_template"] == "minimal"
    # docs/API.md: /info lists `templates` (with their runtimes) as /runtimes does.
    assert isinstance(info["templates"], list), \
        "/info templates is not a list of templates: %.200s" % json.dumps(info["templates"])
    assert {t["name"]: t for t in info["templates"]} == registry


def test_runtimes_lists_templates_versions_and_manifest_hash(registry):
    assert "minimal" in registry, sorted(registry)
    assert set(registry) == {d for d in os.listdir(BASE)
                             if os.path.lexists(os.path.join(BASE, d, "current"))}
    for name, t in registry.items():
        cur = os.path.join(BASE, name, "current")
        with open(os.path.join(cur, "manifest.json")) as f:
            manifest = json.load(f)
        assert t["manifest_hash"] == manifest["hash"], name
        assert t["manifest_hash"].startswith("sha256:") and len(t["manifest_hash"]) == 7 + 64
        assert t["version"] == os.path.basename(os.path.realpath(cur)) == manifest["version"]
        with open(os.path.join(cur, "runtimes.json")) as f:
            declared = json.load(f)["runtimes"]
        assert [rt["name"] for rt in t["runtimes"]] == [rt["name"] for rt in declared]
        for got, want in zip(t["runtimes"], declared):
            assert got["version"] == want["version"] and got["aliases"] == want["aliases"]
            assert got["handler"] == ("handler" in want)
            assert got["compile"] == ("compile" in want)


# --- the matrix -------------------------------------------------------------

@pytest.mark.parametrize("name", EXPECTED)
def test_plain_run(svc, minimal, name):
    rt_of(minimal, name)
    d = ok(svc.run({"runtime": name, "code": PROGRAMS[name]["plain"]}))
    assert d["stdout"] == "out %s\n" % name
    assert d["stderr"] == "err %s\n" % name
    assert d["files"] == [] and "result" not in d and "compile" not in d
    r = svc.run({"runtime": name, "code": PROGRAMS[name]["exit3"]})
    assert r.status == 200, r
    assert r.json["status"] == "error" and r.json["exit_code"] == 3, r
    assert r.json["stdout"] == "bye\n"


@pytest.mark.parametrize("name", EXPECTED)
def test_stdin_args_files_in_and_outputs_back(svc, minimal, name):
    rt_of(minimal, name)
    d = ok(svc.run({"runtime": name, "code": PROGRAMS[name]["io"], "stdin": STDIN, "args": ARGS,
                    "files": [{"path": "data.txt", "content": DATA + "\n"}],
                    "outputs": ["out/*"]}))
    assert d["stdout"] == "stdin=hello world args=%s data=%s\n" % (",".join(ARGS), DATA), d
    assert d["stderr"] == ""
    want = (DATA.upper() + "\n").encode()
    assert d["files"] == [{"path": "out/result.txt", "size": len(want), "encoding": "base64",
                           "content": base64.b64encode(want).decode()}]
    assert d["files_truncated"] is False


@pytest.mark.parametrize("name", EXPECTED)
def test_handler_mode(svc, minimal, name):
    rt = rt_of(minimal, name)
    prog = PROGRAMS[name]
    req = {"runtime": name, "event": {"n": [1, 2, 39]},
           "files": [{"path": "data.txt", "content": DATA}], "outputs": ["out/*.txt"]}
    if not rt["handler"]:
        req["code"] = prog["plain"]
        err400(svc.run(req), "invalid_field", "event")
        err400(svc.run(dict(req, handler="main.handler")), "invalid_field", "handler")
        return
    d = ok(svc.run(dict(req, code=prog["handler_main"])))
    assert d["result"] == {"sum": 42, "data": DATA, "fn": "main.handler"}, d
    assert "handler_error" not in d
    assert d["stdout"] == "in handler\n"
    assert d["files"] == [{"path": "out/h.txt", "size": len(DATA), "encoding": "base64",
                           "content": b64(DATA)}]
    # A handler in another module, named explicitly, with a scalar event.
    path, handler, src = prog["handler_other"]
    d = ok(svc.run({"runtime": name, "handler": handler, "event": "e1",
                    "files": [{"path": path, "content": src}]}))
    assert d["result"] == ["e1", "other"], d
    # A handler that raises: status error, the message in handler_error.
    r = svc.run({"runtime": name, "code": prog["handler_raises"], "event": "x"})
    assert r.status == 200, r
    d = r.json
    assert d["status"] == "error" and d["result"] is None, d
    assert "bad x" in d["handler_error"] and "bad x" in d["stderr"], d


# --- versions, aliases, templates -------------------------------------------

@pytest.mark.parametrize("name", EXPECTED)
def test_registry_version_is_the_real_one(svc, minimal, name):
    version = rt_of(minimal, name)["version"]
    d = ok(svc.run({"runtime": name, "code": PROGRAMS[name]["version"]}))
    assert d["stdout"] == version + "\n"


def test_version_pinning(svc, minimal):
    version = rt_of(minimal, "python")["version"]
    parts = version.split(".")
    assert parts[:2] == ["3", "11"], "the pins below assume python 3.11: %s" % version
    for pin in ("3", "3.11", version):
        d = ok(svc.run({"runtime": "python:" + pin, "code": PROGRAMS["python"]["version"]}))
        assert d["stdout"] == version + "\n", pin
    # Component by component: 3.1 is not a prefix of 3.11.x.
    for pin in ("2", "3.1", "3.11.2.0", "4"):
        e = err400(svc.run({"runtime": "python:" + pin, "code": "print(1)"}),
                   "unknown_runtime", "runtime")
        assert "python:" + pin in e["message"]
        for rt in minimal.values():
            assert "%s %s" % (rt["name"], rt["version"]) in e["message"], e


def test_aliases(svc, minimal):
    names = {a: rt["name"] for rt in minimal.values() for a in rt["aliases"]}
    for alias, target in (("js", "node"), ("javascript", "node"), ("sh", "bash"),
                          ("shell", "bash"), ("py", "python")):
        assert names.get(alias) == target, (alias, names)
    for alias, target in sorted(names.items()):
        d = ok(svc.run({"runtime": alias, "code": PROGRAMS[target]["version"]}))
        assert d["stdout"] == minimal[target]["version"] + "\n", alias
    d = ok(svc.run({"runtime": "js:" + minimal["node"]["version"].split(".")[0],
                    "code": PROGRAMS["node"]["plain"]}))
    assert d["stdout"] == "out node\n"
    # Names match exactly (case-sensitive).
    err400(svc.run({"runtime": "Python", "code": "print(1)"}), "unknown_runtime", "runtime")


def test_explicit_minimal_template(svc):
    d = ok(svc.run({"runtime": "python", "template": "minimal", "code": "print(6 * 7)"}))
    assert d["stdout"] == "42\n"


def test_unknown_template_is_400_listing_templates(svc, registry):
    e = err400(svc.run({"runtime": "python", "template": "no-such-template", "code": "print(1)"}),
               "unknown_template", "template")
    assert "no-such-template" in e["message"]
    for name in registry:
        assert name in e["message"], (name, e)
    # A runtime of another template is not found in minimal.
    if "compilers" in registry:
        err400(svc.run({"runtime": "c", "code": "int main(void){return 0;}"}),
               "unknown_runtime", "runtime")


def test_every_runtime_of_every_template_runs_its_sample(svc, registry):
    """Data driven: rootfs/samples/<runtime>/hello for each runtime the
    registry lists, in each template (compilers included when built)."""
    for tname, t in sorted(registry.items()):
        for rt in t["runtimes"]:
            sample = SAMPLES / rt["name"] / "hello"
            assert sample.is_file(), "no sample for %s" % rt["name"]
            r = svc.run({"runtime": rt["name"], "template": tname, "code": sample.read_text(),
                         "stdin": "line one\nline two\n"}, timeout=90)
            d = ok(r)
            assert d["stdout"] == "hello sandbox\nstdin: line one\n", (tname, rt["name"], d)
            assert ("compile" in d) == rt["compile"], (tname, rt["name"], d)


# --- compiled runtimes (template `compilers`) --------------------------------

@pytest.fixture(scope="module")
def compilers(registry):
    if "compilers" not in registry:
        why = ("no 'compilers' template in %s (build it: scripts/build-rootfs.sh compilers)" % BASE)
        if os.environ.get("SANDBOX_MUST_WORK") == "1":
            pytest.fail(why + " and SANDBOX_MUST_WORK=1")
        pytest.skip(why)
    rts = {rt["name"]: rt for rt in registry["compilers"]["runtimes"]}
    for name in ("c", "cpp"):
        assert name in rts and rts[name]["compile"] is True, rts.keys()
    return rts


def crun(svc, runtime, code, **kw):
    req = {"runtime": runtime, "template": "compilers", "code": code}
    req.update(kw)
    r = svc.run(req, timeout=120)
    assert r.status == 200, r
    d = r.json
    c = d.get("compile")
    assert isinstance(c, dict), d
    for k in ("status", "exit_code", "signal", "stdout", "stderr", "stdout_truncated",
              "stderr_truncated", "execution_time_ms"):
        assert k in c, (k, c)
    return d, c


C_HELLO = '#include <stdio.h>\nint main(void)\n{\n\tputs("hello c");\n\treturn 0;\n}\n'
CPP_HELLO = ('#include <iostream>\n#include <vector>\nint main()\n{\n'
             '\tstd::vector<int> v{1, 2, 3};\n\tstd::cout << "hello c++ " << v.size() << "\\n";\n}\n')
# A leftover executable named like the compile output: if it were run after
# a failed compile, "STALE PROGRAM RAN" would show up.
STALE_MAIN = {"path": "main", "content": "#!/bin/sh\necho STALE PROGRAM RAN\n", "executable": True}


@pytest.mark.parametrize("runtime,code,out", [("c", C_HELLO, "hello c\n"),
                                              ("cpp", CPP_HELLO, "hello c++ 3\n")])
def test_compiled_hello(svc, compilers, runtime, code, out):
    d, c = crun(svc, runtime, code)
    assert d["status"] == "success" and d["exit_code"] == 0, d
    assert d["stdout"] == out
    assert c["status"] == "success" and c["exit_code"] == 0 and c["signal"] is None, c
    # Each step has its own time: compiling takes longer than printing a line.
    assert c["execution_time_ms"] > d["execution_time_ms"], (c, d)


@pytest.mark.parametrize("runtime,code", [
    ("c", "int main(void)\n{\n\treturn undeclared_name\n}\n"),
    ("cpp", "#include <string>\nint main() { std::string s = 42; }\n")])
def test_compile_error_never_runs_the_program(svc, compilers, runtime, code):
    d, c = crun(svc, runtime, code, files=[STALE_MAIN], stdin="x\n")
    assert d["status"] == "compile_error", d
    assert c["status"] == "error" and c["exit_code"] not in (0, None), c
    assert "error" in c["stderr"] and compilers[runtime]["file"] in c["stderr"], c
    assert d["exit_code"] is None and d["signal"] is None, d
    assert "STALE PROGRAM RAN" not in d["stdout"] + d["stderr"], d
    assert d["stdout"] == "", d


def test_c_runtime_crash_after_good_compile(svc, compilers):
    # Both volatiles: gcc -O2 would otherwise drop the store as dead.
    code = ("#include <stdio.h>\nint main(void)\n{\n\tvolatile int *volatile p = 0;\n"
            "\tputs(\"before\");\n\tfflush(stdout);\n\t*p = 1;\n\treturn 0;\n}\n")
    d, c = crun(svc, "c", code)
    assert c["status"] == "success", c
    assert d["status"] == "killed" and d["signal"] == 11 and d["exit_code"] is None, d
    assert d["stdout"] == "before\n"


def test_cpp_uncaught_exception_aborts(svc, compilers):
    code = ('#include <stdexcept>\nint main()\n{\n\tthrow std::runtime_error("boom");\n}\n')
    d, c = crun(svc, "cpp", code)
    assert c["status"] == "success", c
    assert d["status"] == "killed" and d["signal"] == 6 and d["exit_code"] is None, d
    assert "boom" in d["stderr"], d


def test_compiled_stdin_args_and_outputs(svc, compilers):
    code = ('#include <fstream>\n#include <iostream>\nint main(int argc, char **argv)\n{\n'
            '\tlong long n, x, sum = 0;\n\tstd::cin >> n;\n'
            '\tfor (long long i = 0; i < n && std::cin >> x; i++)\n\t\tsum += x;\n'
            '\tstd::ofstream("sum.txt") << sum << "\\n";\n'
            '\tstd::cout << sum << " " << (argc > 1 ? argv[1] : "-") << "\\n";\n}\n')
    d, c = crun(svc, "cpp", code, stdin="4\n10 20\n30 -18\n", args=["judge"],
                outputs=["*.txt"])
    assert c["status"] == "success", c
    assert d["status"] == "success" and d["stdout"] == "42 judge\n", d
    assert d["files"] == [{"path": "sum.txt", "size": 3, "encoding": "base64",
                           "content": b64("42\n")}]
    d, c = crun(svc, "c", (SAMPLES / "c" / "hello").read_text(), stdin="from stdin\n")
    assert d["stdout"] == "hello sandbox\nstdin: from stdin\n", d


# Each line doubles the tokens of the one before: expanding X30 needs 2^30
# tokens in the preprocessor. Including /dev/zero reads without end.
TOKEN_BOMB = ("\n".join(["#define X0 1+"] + ["#define X%d X%d X%d" % (i, i - 1, i - 1)
                                           for i in range(1, 31)])
              + "\nint v = X30 0;\nint main(void) { return 0; }\n")
ZERO_INCLUDE = '#include "/dev/zero"\nint main(void) { return 0; }\n'


@pytest.mark.parametrize("code", [TOKEN_BOMB, ZERO_INCLUDE], ids=["token_bomb", "dev_zero"])
def test_compile_over_its_limits_is_a_compile_failure(svc, compilers, code):
    """Far over the compile step's memory limit (or, without a memory
    cgroup, its time limit): reported as the compile's failure, never run."""
    iso = svc.request("GET", "/api/sandbox/info").json["isolation"]
    d, c = crun(svc, "c", code, files=[STALE_MAIN])
    assert d["status"] == "compile_error", d
    if iso["memory_limit"]:
        assert c["status"] == "memory_limit", c
    else:
        assert c["status"] in ("timeout", "killed", "error"), c
    assert "STALE PROGRAM RAN" not in d["stdout"] + d["stderr"], d
    assert d["exit_code"] is None and d["signal"] is None, d


def test_include_recursion_is_a_compile_error(svc, compilers):
    d, c = crun(svc, "c", '#include "main.c"\nint main(void) { return 0; }\n', files=[STALE_MAIN])
    assert d["status"] == "compile_error" and c["status"] == "error", (d, c)
    assert "nested depth" in c["stderr"] or "nested too deeply" in c["stderr"], c
    assert "STALE PROGRAM RAN" not in d["stdout"] + d["stderr"], d


def test_compiled_run_has_the_run_tmpfs(svc, compilers):
    """A job of two steps (compile, run) gets its /work, /tmp and /dev/shm
    attached in the responder's namespace, where each step's pid 1 copies
    them from (src/jail/mount.c): the program sees the same tmpfs, flags
    and sizes as a one-step run (tests/jail, test_run_tmpfs_are_the_jails_own)
    and the compile's output in /work."""
    code = ('#include <stdio.h>\n#include <string.h>\nint main(void)\n{\n\tchar l[512];\n'
            '\tFILE *f = fopen("/proc/self/mountinfo", "r");\n'
            '\twhile (fgets(l, sizeof l, f)) {\n\t\tchar p[256], o[256];\n'
            '\t\tif (sscanf(l, "%*s %*s %*s %*s %255s %255s", p, o) == 2 &&\n'
            '\t\t    (!strcmp(p, "/work") || !strcmp(p, "/tmp") || !strcmp(p, "/dev/shm")))\n'
            '\t\t\tprintf("%s %s %s", p, o, strstr(l, " - tmpfs ") ? "tmpfs\\n" : "other\\n");\n'
            '\t}\n\treturn 0;\n}\n')
    d, c = crun(svc, "c", code)
    assert c["status"] == "success" and d["status"] == "success", (c, d)
    lines = sorted(d["stdout"].splitlines())
    assert [l.split()[0] for l in lines] == ["/dev/shm", "/tmp", "/work"], d
    for l in lines:
        point, flags, fstype = l.split()
        assert fstype == "tmpfs" and {"nosuid", "nodev"} <= set(flags.split(",")), l
        assert ("noexec" in flags.split(",")) == (point == "/dev/shm"), l
