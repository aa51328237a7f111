"""Warm node interpreters (issue 13) and --warm-runtime auto.

A pool of its own with --warm-runtime node: a JavaScript run served by the
node a responder started while idle (`node -r /opt/sandbox/shims/warm.js
main.js`) gives the same answer as a cold `node main.js`.  Cold runs are
forced with the entrypoint "/usr/bin/node main.js" (not the runtime's own
command); the programs do not print process.argv[0], the one thing that
differs by that.  Each warm answer must say "warm": true.

Then a pool of one responder in the default mode, auto: it keeps warm the
runtime its recent runs used most.
"""
import os
import pathlib
import shutil
import tempfile
import time

import pytest

from conftest import (Service, descendants, disconnect_cancels_warm_run, free_port, make_env,
                      run_warm, strip_timings, wait_for, warm_interpreter)

COLD = "/usr/bin/node main.js"

CORPUS = {
    "print": "console.log(1)\n",
    # Every thread's CPUs (V8's own start before the program): all the
    # service's, none left on its responder's home CPU (src/jail/cpus.c).
    "thread_cpus": "const fs = require('fs')\n"
                   "const l = fs.readdirSync('/proc/self/task').map(t => fs.readFileSync("
                   "`/proc/self/task/${t}/status`, 'utf8').match(/Cpus_allowed_list:\\s*(\\S+)/)[1])\n"
                   "console.log(l.length > 1, [...new Set(l)])\n",
    "argv": "console.log(process.argv.slice(1), process.argv0)\n",
    "exec_argv": "console.log(process.execArgv, process.execPath)\n",
    "main_module": "console.log(require.main === module, module.id, module.filename, module.loaded,\n"
                   "  module.parent, __filename, __dirname, module.paths)\n",
    "require_cache": "console.log(Object.keys(require.cache))\n",
    "globals": "console.log(Object.keys(globalThis).sort())\n",
    "environ": "console.log(JSON.stringify(process.env))\n",
    "c_environ": "console.log(require('child_process').execSync('env').toString())\n",
    "cwd": "console.log(process.cwd(), require('fs').readdirSync('.').sort())\n",
    "stdin_sync": "console.log(JSON.stringify(require('fs').readFileSync(0, 'utf8')))\n",
    "stdin_stream": "let s = '';\nprocess.stdin.setEncoding('utf8');\n"
                    "process.stdin.on('data', d => s += d);\n"
                    "process.stdin.on('end', () => console.log(s.split('\\n').reverse()));\n",
    "tty": "console.log(process.stdin.isTTY, process.stdout.isTTY, process.stderr.isTTY)\n",
    "stderr": "console.error('e');\nconsole.log('o');\n",
    "exception": "function f() {\n  throw new Error('boom');\n}\nconsole.log('x');\nf();\n",
    "syntax": "let x = (\n",
    "reference_error": "console.log(undefinedName);\n",
    "exit3": "process.exit(3);\n",
    "exit_code": "process.exitCode = 4;\nconsole.log('set');\n",
    "on_exit": "process.on('exit', c => console.log('exit', c));\nconsole.log('p');\n",
    "before_exit": "let n = 0;\nprocess.on('beforeExit', () => { if (n++ < 2) setTimeout(() => console.log('again', n), 1); });\n",
    "unhandled_rejection": "Promise.reject(new Error('r'));\n",
    "uncaught_handler": "process.on('uncaughtException', e => console.log('caught', e.message));\n"
                        "setTimeout(() => console.log('after'), 5);\nthrow new Error('x');\n",
    "kill_self": "process.kill(process.pid, 'SIGTERM');\nsetTimeout(() => {}, 1000);\n",
    "sigint_handler": "process.on('SIGINT', () => { console.log('int'); process.exit(0); });\n"
                      "process.kill(process.pid, 'SIGINT');\nsetTimeout(() => {}, 1000);\n",
    "signal_listeners": "console.log(['SIGINT', 'SIGTERM', 'SIGHUP'].map(s => process.listenerCount(s)),\n"
                        "  process.listenerCount('exit'), process.listenerCount('uncaughtException'))\n",
    "local_module": "const h = require('./helper');\nconsole.log(h.X, require.resolve('./helper'));\n",
    "esm": "import fs from 'fs';\nconsole.log(import.meta.url, typeof require);\n",
    # (an order that does not depend on how long the start took: a timer
    # against setImmediate at the top level does)
    "timers": "setTimeout(() => {\n  console.log('t');\n"
              "  setImmediate(() => { console.log('imm'); setTimeout(() => console.log('t2'), 1); });\n}, 5);\n"
              "Promise.resolve().then(() => console.log('micro'));\nprocess.nextTick(() => console.log('tick'));\n",
    "worker": "const { Worker } = require('worker_threads');\n"
              "const w = new Worker(\"const { parentPort } = require('worker_threads');\"\n"
              "  + \"parentPort.postMessage([Object.keys(require.cache), process.execArgv])\", { eval: true });\n"
              "w.on('message', m => console.log('worker', JSON.stringify(m)));\n",
    "fork": "const c = require('child_process').fork('./child.js', ['x']);\n"
            "c.on('exit', code => console.log('child exit', code));\n",
    "unicode_out": "console.log('\\u00fcn\\u00ef \\u{1F600}');\n",
    "invalid_utf8": "process.stdout.write(Buffer.from([0xff, 0xfe]));\n",
    # (not followed by process.exit(): what a full pipe still holds then is
    # lost, cold or warm, depending on how fast the reader is)
    "big_output": "process.stdout.write('x'.repeat(200000));\nconsole.log('end');\n",
    "ids": "console.log(process.getuid(), process.getgid(), process.getgroups())\n",
    "intl": "const o = new Intl.DateTimeFormat().resolvedOptions();\nconsole.log(o.locale, o.timeZone, (1234.5).toLocaleString())\n",
    "versions": "console.log(process.version, Object.keys(process.versions).length, process.arch, process.platform)\n",
    "memory_usage_keys": "console.log(Object.keys(process.memoryUsage()))\n",
    "strict_this": "console.log(this === module.exports, typeof exports)\n",
    "stack_depth": "function d(n) { try { return d(n + 1); } catch (e) { return n > 1000; } }\nconsole.log(d(0))\n",
    "error_stack_api": "console.log(Error.stackTraceLimit, typeof Error.prepareStackTrace)\n",
    "prepare_stack": "Error.prepareStackTrace = (e, s) => s.map(f => f.getFileName() + ':' + f.getFunctionName());\n"
                     "function g() { return new Error().stack; }\nconsole.log(g());\n",
    "module_builtin": "console.log(require('module').builtinModules.length > 30, require('module')._cache === require.cache)\n",
    "node_env": "console.log(process.env.NODE_ENV, Object.keys(process.env))\n",
}
FILES = {
    "local_module": [{"path": "helper.js", "content": "exports.X = 42;\n"}],
    "esm": [{"path": "package.json", "content": "{\"type\": \"module\"}\n"}],
    "fork": [{"path": "child.js", "content": "console.log('child', process.argv.slice(2), process.execArgv);\n"}],
}
STDIN = {"stdin_sync": "line one\nline two\n", "stdin_stream": "abc\ndef\n"}
ENV = {"node_env": {"NODE_ENV": "production", "A_VAR": "1"}}


def req(code, name="", **kw):
    r = {"runtime": "node", "code": code, "args": ["a b", "c"]}
    if name in FILES:
        r["files"] = FILES[name]
    if name in STDIN:
        r["stdin"] = STDIN[name]
    if name in ENV:
        r["env"] = ENV[name]
    r.update(kw)
    return r


def start_pool(args, pool):
    state = pathlib.Path(tempfile.mkdtemp(prefix="sandbox-it-node-"))
    os.chmod(state, 0o755)
    s = Service(state, make_env(state, free_port(), SANDBOX_POOL=pool,
                                SANDBOX_FCGI_ARGS="--queue-timeout-ms 5000 " + args))
    try:
        s.ctl("start", "60")
    except Exception:
        s.ctl("stop")
        raise
    return s


def stop_pool(s):
    s.ctl("stop")
    shutil.rmtree(s.state, ignore_errors=True)


@pytest.fixture(scope="module")
def nsvc():
    s = start_pool("--warm-runtime node", 2)
    try:
        if s.request("GET", "/api/sandbox/info").json["warm"]["runtime"] != "node":
            pytest.skip("no warm interpreters in this build/host (fork mode or degraded limits)")
        yield s
    finally:
        stop_pool(s)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_warm_node_equals_cold(nsvc, name):
    r = req(CORPUS[name], name)
    cold = nsvc.run(dict(r, entrypoint=COLD))
    assert cold.status == 200, cold
    assert cold.json["warm"] is False
    warm = run_warm(nsvc, r)
    c, w = strip_timings(cold.json), strip_timings(warm)
    if name == "argv":     # argv0 is the command's: "node" warm, the entrypoint's cold
        c["stdout"] = c["stdout"].rsplit(" ", 1)[0]
        w["stdout"] = w["stdout"].rsplit(" ", 1)[0]
    assert w == c


def test_nothing_survives_to_the_next_warm_node_run(nsvc):
    plant = ("const fs = require('fs');\n"
             "fs.writeFileSync('/tmp/left', 'x'); fs.writeFileSync('/work/left', 'x');\n"
             "process.env.LEFT = '1'; globalThis.left = 1;\n"
             "process.on('SIGTERM', () => {});\n"
             "require('child_process').spawn('sleep', ['30'], {detached: true, stdio: 'ignore'}).unref();\n"
             "globalThis.blob = Buffer.alloc(50 << 20, 1);\n"
             "console.log('planted');\n")
    look = ("const fs = require('fs');\n"
            "console.log(fs.existsSync('/tmp/left'), fs.existsSync('/work/left'), 'LEFT' in process.env,\n"
            "  'left' in globalThis, process.listenerCount('SIGTERM'),\n"
            "  fs.readdirSync('/proc').filter(x => /^[0-9]+$/.test(x)).length)\n")
    for _ in range(4):
        assert run_warm(nsvc, req(plant))["stdout"] == "planted\n"
        got = run_warm(nsvc, req(look))
        # in /proc only the program itself: no daemon of the last run
        assert got["stdout"] == "false false false false 0 1\n", got["stdout"]


@pytest.mark.parametrize("kw,reason", [
    ({"env": {"NODE_OPTIONS": "--max-old-space-size=100"}}, "environment"),
    ({"env": {"NODE_PATH": "/work/lib"}}, "environment"),
    ({"env": {"LC_ALL": "C"}}, "environment"),
    ({"entrypoint": "node --no-warnings main.js"}, "entrypoint"),
])
def test_node_fallbacks_go_cold_and_answer(nsvc, kw, reason):
    r = {"runtime": "node", "code": "console.log('ok')"}
    r.update(kw)
    j = nsvc.run(r).json
    assert j["warm"] is False and j["status"] == "success" and j["stdout"] == "ok\n", j
    assert any(l.get("cold_reason") == reason for l in nsvc.logs()
               if l.get("event") == "sandbox.run.finish" and l.get("request_id") == j["request_id"])


@pytest.mark.parametrize("code,limits,status", [
    ("for (;;) {}\n", {"wall_time_ms": 1500}, "timeout"),
    ("const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));\n", {"memory_mb": 128}, "memory_limit"),
    ("process.stdout.write('x'.repeat(100000));\n", {"max_output_bytes": 2000}, "success"),
    # node itself runs about ten threads, which count against the limit too
    ("const cp = require('child_process');\nfor (let i = 0; i < 40; i++) cp.spawn('sleep', ['2']);\n",
     {"max_processes": 16}, "error"),
])
def test_node_limits_hold_warm_as_cold(nsvc, code, limits, status):
    r = {"runtime": "node", "code": code, "limits": limits}
    cold = nsvc.run(dict(r, entrypoint=COLD)).json
    warm = run_warm(nsvc, r)
    assert cold["status"] == status, cold
    assert warm["status"] == status, warm
    for k in ("exit_code", "signal", "stdout_truncated", "stderr_truncated"):
        assert warm[k] == cold[k], (k, warm, cold)


def test_auto_keeps_the_most_used_runtime_warm():
    """--warm-runtime auto (the default): python before any run; after
    node runs, node; after more python runs than node ones, python again."""
    s = start_pool("", 1)
    try:
        info = s.request("GET", "/api/sandbox/info").json["warm"]
        if info["runtime"] is None:
            pytest.skip("no warm interpreters in this build/host (fork mode or degraded limits)")
        assert info["runtime"] == "python" and info["template"] == "minimal"
        node = {"runtime": "node", "code": "console.log(1)"}
        py = {"runtime": "python", "code": "print(1)"}
        first = s.run(node).json
        assert first["warm"] is False and first["stdout"] == "1\n"
        assert run_warm(s, node)["stdout"] == "1\n"
        assert s.request("GET", "/api/sandbox/info").json["warm"]["runtime"] == "node"
        responder = s.responders()[0]
        assert wait_for(lambda: any(warm_interpreter(p) for p in descendants(responder)), 5.0)
        # the window now holds 2+ node runs: python must outnumber them
        for _ in range(4):
            assert s.run(py).json["stdout"] == "1\n"
        assert run_warm(s, py)["stdout"] == "1\n"
        assert s.request("GET", "/api/sandbox/info").json["warm"]["runtime"] == "python"
    finally:
        stop_pool(s)


def test_named_runtime_of_another_template():
    """--warm-runtime NAME@TEMPLATE: that template's interpreter waits;
    the same runtime of the default template runs cold."""
    s = start_pool("--warm-runtime python@compilers", 1)
    try:
        info = s.request("GET", "/api/sandbox/info").json
        if "compilers" not in [t["name"] for t in info["templates"]]:
            pytest.skip("the compilers template is not built here")
        if info["warm"]["runtime"] is None:
            pytest.skip("no warm interpreters in this build/host (fork mode or degraded limits)")
        assert info["warm"]["runtime"] == "python" and info["warm"]["template"] == "compilers"
        j = run_warm(s, {"runtime": "python", "template": "compilers", "code": "print(1)"})
        assert j["stdout"] == "1\n"
        j = s.run({"runtime": "python", "code": "print(2)"}).json
        assert j["warm"] is False and j["stdout"] == "2\n"
    finally:
        stop_pool(s)


def test_client_disconnect_cancels_a_warm_node_run(nsvc):
    disconnect_cancels_warm_run(nsvc, {"runtime": "node", "code": "setTimeout(() => {}, 60000);\n",
                                       "limits": {"wall_time_ms": 60000}},
                                {"runtime": "node", "code": "console.log('ok')"})


def _finish_of(s, request_id):
    for line in s.logs():
        if line.get("event") == "sandbox.run.finish" and line.get("request_id") == request_id:
            return line
    return None


@pytest.mark.parametrize("fork", ["off", "on"])
def test_a_waiting_request_gets_no_interpreter_started_for_it(fork):
    """Saturated (a request waiting when a run ends), a responder starts
    no interpreter for the next job: it could only be discarded (another
    runtime) or be ready no sooner than a cold start.  The waiting run
    goes cold, "none waiting"; once the responder is idle again, the
    interpreter is started and the next run is warm.  With the zygote
    (--warm-fork on) an interpreter is a fork, not a start-up: it is made
    at once, and serves the waiting run."""
    import threading
    s = start_pool("--warm-runtime python --warm-fork " + fork, 1)
    try:
        if s.request("GET", "/api/sandbox/info").json["warm"]["runtime"] is None:
            pytest.skip("no warm interpreters in this build/host (fork mode or degraded limits)")
        responder = s.responders()[0]
        assert wait_for(lambda: any(warm_interpreter(p) for p in descendants(responder)), 5.0)
        out = {}

        def send(key, body):
            out[key] = s.run(body).json
        first = threading.Thread(target=send, args=("first", {
            "runtime": "python", "code": "import time\ntime.sleep(1.5)\nprint('first')"}))
        first.start()
        time.sleep(0.5)              # the first run holds the only responder
        second = threading.Thread(target=send, args=("second", {
            "runtime": "python", "code": "print('second')"}))
        second.start()
        first.join(30)
        second.join(30)
        assert out["first"]["warm"] is True and out["first"]["stdout"] == "first\n", out
        assert out["second"]["warm"] is (fork == "on") and out["second"]["stdout"] == "second\n", out
        assert wait_for(lambda: _finish_of(s, out["second"]["request_id"]) is not None, 5.0)
        if fork == "off":
            assert _finish_of(s, out["second"]["request_id"])["cold_reason"] == "none waiting"
        # idle again: the interpreter is back, and serves
        assert wait_for(lambda: any(warm_interpreter(p) for p in descendants(responder)), 5.0)
        j = s.run({"runtime": "python", "code": "print('third')"}).json
        assert j["warm"] is True and j["stdout"] == "third\n", j
    finally:
        stop_pool(s)


def test_a_queued_connection_that_ends_leaves_the_responder_free():
    """nginx closes its FastCGI connection when its client gives up while
    the request is still queued.  The responder that then accepts that
    connection finds no request on it; it must go back to its own loop:
    start the interpreter it deferred (a request was waiting when its run
    ended), answer the next request warm, and stop on SIGTERM.  libfcgi's
    own retry was a blocking accept() on the pool's socket that SIGTERM
    could not interrupt (it retries on EINTR): the responder then stayed
    there, without its interpreter, until the next connection came."""
    import signal
    import socket
    import threading
    s = start_pool("--warm-runtime python --warm-fork off", 1)
    try:
        if s.request("GET", "/api/sandbox/info").json["warm"]["runtime"] is None:
            pytest.skip("no warm interpreters in this build/host (fork mode or degraded limits)")
        responder = s.responders()[0]
        out = {}

        def long_run():
            out["long"] = s.run({"runtime": "bash", "code": "sleep 1.5; echo long"}).json
        t = threading.Thread(target=long_run)
        t.start()
        time.sleep(0.5)              # the long run holds the only responder
        gone = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        gone.connect(str(s.state / "fcgi.sock"))
        gone.close()                 # queued, and its client gone
        t.join(30)
        assert out["long"]["stdout"] == "long\n", out
        # its interpreter (deferred: a connection was waiting) is started
        assert wait_for(lambda: any(warm_interpreter(p) for p in descendants(responder)), 5.0)
        assert wait_for(lambda: any(l.get("event") == "sandbox.request.abandoned"
                                    for l in s.logs()), 5.0)
        j = s.run({"runtime": "python", "code": "print('next')"}).json
        assert j["warm"] is True and j["stdout"] == "next\n", j
        # and it stops when told to, with no connection coming
        os.kill(responder, signal.SIGTERM)
        assert wait_for(lambda: not os.path.exists("/proc/%d" % responder) or
                        open("/proc/%d/stat" % responder).read().split()[2] == "Z", 5.0)
    finally:
        stop_pool(s)


def test_every_responder_is_warm_again_after_runs_that_end_together():
    """Two runs that end at the same instant on a pool of two, with a third
    request waiting: the responder that ends first while the other is busy
    makes its stage without an interpreter and takes the waiting run; the
    other, idle, starts its interpreter.  Once the three are answered,
    both responders have one waiting again (the deferred one is started
    after its run, or, when the waiting request went to the other
    responder, as soon as this one finds itself idle)."""
    import threading
    s = start_pool("--warm-runtime python", 2)
    try:
        if s.request("GET", "/api/sandbox/info").json["warm"]["runtime"] is None:
            pytest.skip("no warm interpreters in this build/host (fork mode or degraded limits)")
        responders = s.responders()

        def warm_everywhere():
            return all(any(warm_interpreter(p) for p in descendants(r)) for r in responders)
        for attempt in range(3):
            assert wait_for(warm_everywhere, 5.0)
            until = time.time() + 1.5
            sleep = "import time\ntime.sleep(max(0, %r - time.time()))\nprint('x')" % until
            out = []
            ts = [threading.Thread(target=lambda b=b: out.append(s.run(b).json))
                  for b in ({"runtime": "python", "code": sleep},) * 2 +
                           ({"runtime": "bash", "code": "sleep 1; echo y"},)]
            for t in ts:
                t.start()
                time.sleep(0.2)      # the two sleepers on the two responders first
            for t in ts:
                t.join(30)
            assert sorted(a["stdout"] for a in out) == ["x\n", "x\n", "y\n"], out
            assert wait_for(warm_everywhere, 3.0), [
                [(p, warm_interpreter(p)) for p in descendants(r)] for r in responders]
    finally:
        stop_pool(s)


def test_warm_node_threads_have_every_cpu(nsvc):
    """A started interpreter sets its CPUs before its execve, so the threads
    node starts with it have every CPU too, as a cold run's."""
    import os
    every = sorted(os.sched_getaffinity(0))
    want = "%d-%d" % (every[0], every[-1]) if len(every) > 1 else str(every[0])
    if every != list(range(every[0], every[-1] + 1)):
        pytest.skip("a CPU set with holes: %s" % every)
    w = run_warm(nsvc, req(CORPUS["thread_cpus"]))
    assert w["stdout"] == "true [ '%s' ]\n" % want, w
