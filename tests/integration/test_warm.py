"""Warm interpreters (issue 13): a Python run served by the interpreter a
responder started while idle gives the same answer as a cold run.

Cold runs are forced with the entrypoint "/usr/bin/python3 main.py" (not
the runtime's own command, so the warm interpreter cannot serve it); the
programs do not look at sys.orig_argv, the one thing that differs.  Each
warm answer must say "warm": true, so a test cannot pass by going cold.
"""
import os
import time

import pytest

from conftest import disconnect_cancels_warm_run, run_warm, strip_timings

COLD = "/usr/bin/python3 main.py"

CORPUS = {
    "print": "print(1)\n",
    "globals": "print(sorted(k for k in globals()))\nprint(__name__, __file__, __doc__, __spec__, __package__)\n",
    "globals_order": "print(list(globals()))\nprint(type(__loader__).__name__, __cached__)\n",
    "modules": "import sys\nprint(sorted(sys.modules))\n",
    "argv": "import sys\nprint(sys.argv)\n",
    "path0": "import sys\nprint(sys.path)\n",
    "environ": "import os\nprint(list(os.environ.items()))\n",
    "c_environ": "import subprocess\nprint(subprocess.run(['env'], capture_output=True, text=True).stdout)\n",
    "cwd": "import os\nprint(os.getcwd(), sorted(os.listdir('.')))\n",
    "stdin": "import sys\nprint(repr(sys.stdin.read()))\n",
    "stdin_lines": "import sys\nfor l in sys.stdin: print(l.strip()[::-1])\n",
    "buffering": "import sys, os\nprint('a')\nos.write(1, b'b\\n')\nprint(sys.stdout.line_buffering, sys.stdout.isatty())\n",
    "stderr": "import sys\nprint('e', file=sys.stderr)\nprint('o')\n",
    "exception": "def f():\n    raise ValueError('boom')\nprint('x')\nf()\n",
    "syntax": "x = (\n",
    "name_error": "print(undefined_name)\n",
    "exit3": "import sys\nsys.exit(3)\n",
    "exit_msg": "import sys\nprint('a')\nsys.exit('bye')\n",
    "exit_none": "raise SystemExit\n",
    "atexit": "import atexit, os\natexit.register(lambda: os.write(1, b'w\\n'))\nprint('p')\n",
    "atexit_exc": "import atexit\natexit.register(lambda: print('bye'))\n1/0\n",
    "keyboard": "import atexit\natexit.register(lambda: print('bye'))\nraise KeyboardInterrupt\n",
    "sigint": "import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(1)\n",
    "signals": "import signal\nprint([str(signal.getsignal(s)) for s in range(1, 32)])\n",
    "excepthook": "import sys\nsys.excepthook = lambda t, v, tb: print('hook', t.__name__, tb.tb_frame.f_code.co_filename)\n1/0\n",
    "warning": "import warnings\nwarnings.warn('w')\n",
    "coding": "# -*- coding: latin-1 -*-\nprint('\\xe9')\n",
    "exec_string": "exec('1/0')\n",
    "local_module": "import helper\nprint(helper.X, helper.__file__)\n",
    "shadow_stdlib": "import random\nprint(random.__file__)\n",
    "unicode_out": "print('\\u00fcn\\u00ef \\U0001F600')\n",
    "invalid_utf8": "import sys\nsys.stdout.buffer.write(b'\\xff\\xfe')\n",
    "flags": "import sys\nprint(sys.flags)\nprint(sys.executable, sys.prefix)\n",
    "hash_types": "print(hash(1), hash(None) is not None)\n",
    "tempfile": "import tempfile\nprint(tempfile.gettempdir())\n",
    "thread": "import threading\nt = threading.Thread(target=lambda: print('t'))\nt.start(); t.join()\n",
    # How a program ends (a forked interpreter's exit, src/api/warm_exit.py):
    "del_at_exit": "class D:\n    def __del__(self): print('del', type(self).__name__)\nd = D()\nprint('end')\n",
    "unclosed_file": "f = open('out.txt', 'w')\nf.write('unclosed')\nprint('end')\n",
    "unclosed_in_cycle": "f = open('out.txt', 'w'); f.write('x')\nclass D:\n    def __del__(self): print('del', f.closed)\nd = D()\n",
    "unclosed_in_module": "import helper\nhelper.f.write('from helper')\n",
    "thread_at_exit": "import threading, time\nthreading.Thread(target=lambda: (time.sleep(0.2), print('t'))).start()\nprint('m')\n",
    "daemon_thread": "import threading, time\nthreading.Thread(target=lambda: (time.sleep(5), print('t')), daemon=True).start()\nprint('m')\n",
    "atexit_order": "import atexit\nfor i in range(3): atexit.register(print, 'ae', i)\nclass D:\n    def __del__(self): print('del')\nd = D()\n",
    "stdout_replaced": "import sys, io\nsys.stdout = io.StringIO()\nprint('hidden')\nsys.__stdout__.write('shown\\n')\n",
    "buffered_at_exit": "import sys\nsys.stdout.write('no newline')\nsys.stderr.write('err no newline')\n",
    "exit0_finalizers": "import sys\nclass D:\n    def __del__(self): print('del')\nd = D()\nf = open('out.txt', 'w'); f.write('x')\nsys.exit(0)\n",
    "exit_true": "import sys\nsys.exit(True)\n",
    "exit_big": "import sys\nsys.exit(2 ** 40)\n",
    "exit_negative": "import sys\nsys.exit(-1)\n",
    "exit_in_finally": "import sys\ntry:\n    sys.exit(4)\nfinally:\n    print('finally')\n",
    "exception_finalizers": "class D:\n    def __del__(self): print('del')\nd = D()\nf = open('out.txt', 'w'); f.write('y')\nraise ValueError('v')\n",
    "weakref_finalize": "import weakref\nclass C: pass\nc = C()\nweakref.finalize(c, print, 'finalized')\nprint('end')\n",
    "fork": "import os\npid = os.fork()\nif pid == 0:\n    print('child'); os._exit(0)\nos.waitpid(pid, 0); print('parent')\n",
    "kill_self": "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n",
    "main_check": "if __name__ == '__main__':\n    print('main')\n",
    "pid": "import os\nprint(os.getpid(), os.getppid(), os.getuid())\n",
    "rlimits": "import resource\nprint([resource.getrlimit(r) for r in (resource.RLIMIT_NOFILE, resource.RLIMIT_FSIZE, resource.RLIMIT_NPROC, resource.RLIMIT_CORE)])\n",
    "input": "print(input('q? '))\n",
    "stdin_closed_read": "import sys\nprint(repr(sys.stdin.read()))\nprint(repr(sys.stdin.read()))\n",
    # The CPUs a program may use: all the service's, never its responder's home CPU alone.
    "affinity": "import os, threading\nprint(sorted(os.sched_getaffinity(0)))\n"
                "t = threading.Thread(target=lambda: print(sorted(os.sched_getaffinity(0))))\n"
                "t.start(); t.join()\n",
}
FILES = {"local_module": [{"path": "helper.py", "content": "X = 42\n"}],
         "unclosed_in_module": [{"path": "helper.py", "content": "f = open('out.txt', 'w')\n"}],
         "shadow_stdlib": [{"path": "random.py", "content": "\n"}]}
STDIN = {"stdin": "line one\nline two\n", "stdin_lines": "abc\ndef\n", "input": "answer\n",
         "stdin_closed_read": "x"}


@pytest.fixture(autouse=True)
def warm_on(svc):
    """Warm interpreters need CLONE_VM mode and cgroup limits: not in the
    sanitizer and valgrind builds (fork mode), where /info says none."""
    if svc.request("GET", "/api/sandbox/info").json["warm"]["runtime"] is None:
        pytest.skip("no warm interpreters in this build/host (fork mode or degraded limits)")


def req(code, name="", **kw):
    r = {"runtime": "python", "code": code, "args": ["a b", "c"], "outputs": ["out.txt"]}
    if name in FILES:
        r["files"] = FILES[name]
    if name in STDIN:
        r["stdin"] = STDIN[name]
    r.update(kw)
    return r


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_warm_equals_cold(svc, name):
    r = req(CORPUS[name], name)
    cold = svc.run(dict(r, entrypoint=COLD))
    assert cold.status == 200, cold
    assert cold.json["warm"] is False
    warm = run_warm(svc, r)
    c = strip_timings(cold.json)
    w = strip_timings(warm)
    assert w == c


def test_nothing_survives_to_the_next_warm_run(svc):
    plant = ("import os, sys, signal, subprocess, atexit\n"
             "open('/tmp/left', 'w').write('x'); open('/work/left', 'w').write('x')\n"
             "os.environ['LEFT'] = '1'; sys.modules['left_mod'] = sys\n"
             "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
             "subprocess.Popen(['sleep', '30'], start_new_session=True)\n"
             "global_blob = bytearray(50 << 20)\n"
             "print('planted')\n")
    look = ("import os, sys, signal\n"
            "print(os.path.exists('/tmp/left'), os.path.exists('/work/left'),\n"
            "      'LEFT' in os.environ, 'left_mod' in sys.modules,\n"
            "      signal.getsignal(signal.SIGTERM),\n"
            "      [p for p in os.listdir('/proc') if p.isdigit()] == [str(os.getpid())])\n")
    for _ in range(4):       # whichever responders serve them
        assert run_warm(svc, req(plant))["stdout"] == "planted\n"
        got = run_warm(svc, req(look))
        # SIGTERM's default (0), and in /proc only the program itself:
        # the jail's pid 1 is hidden (hidepid), no daemon of the last run.
        assert got["stdout"] == "False False False False 0 True\n", got["stdout"]


@pytest.mark.parametrize("kw,reason", [
    ({"runtime": "bash", "code": "echo hi"}, None),
    ({"env": {"PYTHONOPTIMIZE": "1"}}, "environment"),
    ({"env": {"LC_ALL": "C"}}, "environment"),
    ({"env": {"HOME": "/tmp"}}, "environment"),
    ({"entrypoint": "python3 -u main.py"}, "entrypoint"),
    ({"files": [{"path": ".local/lib/x.py", "content": ""}]}, "user site"),
])
def test_fallbacks_go_cold_and_answer(svc, kw, reason):
    r = {"runtime": "python", "code": "print('ok')"}
    r.update(kw)
    resp = svc.run(r)
    assert resp.status == 200, resp
    j = resp.json
    assert j["warm"] is False
    assert j["status"] == "success"
    assert j["stdout"] in ("ok\n", "hi\n")


def test_handler_mode_goes_cold(svc):
    r = {"runtime": "python", "code": "def handler(event, context=None):\n    return event\n",
         "event": {"a": 1}}
    j = svc.run(r).json
    assert j["warm"] is False and j["result"] == {"a": 1}


@pytest.mark.parametrize("code,limits,status", [
    ("while True: pass\n", {"wall_time_ms": 1000}, "timeout"),
    ("x = bytearray(200 << 20)\nprint(len(x))\n", {"memory_mb": 64}, "memory_limit"),
    ("import os\nfor i in range(40):\n    if os.fork() == 0:\n        import time; time.sleep(2); os._exit(0)\n",
     {"max_processes": 8}, "error"),
    ("import sys\nsys.stdout.write('x' * 100000)\n", {"max_output_bytes": 2000}, "success"),
])
def test_limits_hold_warm_as_cold(svc, code, limits, status):
    r = {"runtime": "python", "code": code, "limits": limits}
    cold = svc.run(dict(r, entrypoint=COLD)).json
    warm = run_warm(svc, r)
    assert cold["status"] == status, cold
    assert warm["status"] == status, warm
    for k in ("exit_code", "signal", "stdout_truncated", "stderr_truncated"):
        assert warm[k] == cold[k], (k, warm, cold)
    if status == "success":
        assert warm["stdout"] == cold["stdout"] and len(warm["stdout"]) == 2000


@pytest.mark.parametrize("limits", [{"cpu_time_ms": "max"}, {"wall_time_ms": "max"},
                                    {"wall_time_ms": "max", "cpu_time_ms": "max"}])
def test_the_highest_limits_are_served_warm(svc, limits):
    """A run may ask for the highest CPU and wall time: the interpreter's
    RLIMIT_CPU was started no lower than the handover sets it (the job's
    CPU limit plus the second its start-up may have used), so the
    handover lowers, never raises it.  Before, such a run failed with a
    sandbox failure (setrlimit, EPERM)."""
    info = svc.request("GET", "/api/sandbox/info").json["limits"]
    lim = {k: info[k]["max"] for k in limits}
    j = run_warm(svc, req("print('top')\n", limits=lim))
    assert j["status"] == "success" and j["stdout"] == "top\n", j


def test_cpu_time_is_the_programs_own(svc):
    # A run handed over while its interpreter still starts counts the rest
    # of the start-up (docs/API.md): let both responders' be ready.
    time.sleep(0.5)
    warm = run_warm(svc, {"runtime": "python", "code": "pass\n"})
    time.sleep(0.5)
    busy = run_warm(svc, {"runtime": "python",
                          "code": "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"})
    assert warm["cpu_time_ms"] < 100, warm
    assert 250 <= busy["cpu_time_ms"] < 1500, busy


def test_info_and_metrics_count_hits_and_misses(svc):
    before = svc.request("GET", "/api/sandbox/info").json["warm"]
    assert before["runtime"] == "python" and before["template"] == "minimal"
    run_warm(svc, {"runtime": "python", "code": "print(1)"})
    assert svc.run({"runtime": "bash", "code": "echo 1"}).json["warm"] is False
    after = svc.request("GET", "/api/sandbox/info").json["warm"]
    assert after["hits"] >= before["hits"] + 1
    assert after["misses"] >= before["misses"] + 1
    assert 0 < after["hit_rate"] < 1
    text = svc.request("GET", "/api/sandbox/metrics").body.decode()
    assert 'sandbox_warm_runs_total{runtime="python",result="hit",reason=""}' in text
    assert 'sandbox_warm_runs_total{runtime="bash",result="miss",reason="runtime"}' in text


def test_log_says_warm_or_cold(svc):
    j = run_warm(svc, {"runtime": "python", "code": "print(1)"})
    c = svc.run({"runtime": "python", "code": "print(1)", "env": {"PYTHONHASHSEED": "1"}}).json
    assert c["warm"] is False
    ends = {e.get("request_id"): e for e in svc.logs() if e.get("event") == "sandbox.run.finish"}
    assert ends[j["request_id"]]["warm"] is True
    assert ends[c["request_id"]]["warm"] is False
    assert ends[c["request_id"]]["cold_reason"] == "environment"


def test_client_disconnect_cancels_a_warm_run(svc):
    """As on the cold path (test_service.py): a client that leaves stops
    its warm run at once, long before its wall limit."""
    disconnect_cancels_warm_run(svc, {"runtime": "python", "code": "import time\ntime.sleep(60)\n",
                                      "limits": {"wall_time_ms": 60000}},
                                {"runtime": "python", "code": "print('ok')"})


def test_a_dead_warm_interpreter_means_cold_not_failure(svc):
    """Something killed the waiting interpreter (here: root): the next run
    goes cold, correctly, and the one after is warm again."""
    import os
    import signal
    from conftest import alive, children, descendants, warm_interpreter, wait_for

    def waiting():
        return [p for r in svc.responders() for i in children(r) for p in descendants(i)
                if warm_interpreter(p)]
    assert wait_for(lambda: len(waiting()) == len(svc.responders()), 5.0), waiting()
    killed = waiting()
    for p in killed:
        os.kill(p, signal.SIGKILL)
    # dead, not only signalled: one that is still exiting is still in its
    # cgroup, and would be handed the job (a run killed at the very moment
    # it arrives is not what this test is about)
    assert wait_for(lambda: not any(alive(p) for p in killed), 5.0), killed
    finished_before = len([l for l in svc.logs() if l.get("event") == "sandbox.run.finish"])
    j = svc.run({"runtime": "python", "code": "print('cold')"}).json
    assert j["warm"] is False and j["stdout"] == "cold\n", j
    assert wait_for(lambda: len([l for l in svc.logs()
                                 if l.get("event") == "sandbox.run.finish"]) > finished_before, 5)
    f = [l for l in svc.logs() if l.get("event") == "sandbox.run.finish"][finished_before]
    assert f["cold_reason"] == "not running", f
    assert run_warm(svc, {"runtime": "python", "code": "print('warm')"})["stdout"] == "warm\n"


# ---- the zygote (src/jail/zygote.c; docs/SECURITY.md, "Python's
# interpreters come from a zygote") ----

def zygotes(svc):
    from conftest import children, zygote
    return [p for r in svc.responders() for p in children(r) if zygote(p)]


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


@pytest.fixture
def forked(svc):
    if not svc.request("GET", "/api/sandbox/info").json["warm"]["forked"]:
        pytest.skip("interpreters are started here (--warm-fork off, or as root)")
    run_warm(svc, req("print(1)\n"))


def test_zygote_holds_no_privilege_and_no_run_mount(svc, forked):
    """Each responder's zygote keeps its uid and nothing else: no
    capability in any set, no_new_privs, mount, net and ipc namespaces of
    its own (the responder's user namespace), and one mount: the
    template's tree, read-only, none of a run's tmpfs."""
    from conftest import wait_for
    assert wait_for(lambda: len(zygotes(svc)) == len(svc.responders()), 5.0), zygotes(svc)
    for z in zygotes(svc):
        st = proc_status(z)
        for k in "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb":
            assert int(st[k], 16) == 0, (z, k, st[k])
        assert st["NoNewPrivs"] == "1", st
        r = int(st["PPid"])
        ns = lambda p, n: os.readlink("/proc/%d/ns/%s" % (p, n))
        for n in "mnt", "net", "ipc":
            assert ns(z, n) != ns(r, n), n
        assert ns(z, "user") == ns(r, "user")
        with open("/proc/%d/mountinfo" % z) as f:
            mounts = f.read().splitlines()
        assert len(mounts) == 1, mounts
        f = mounts[0].split()
        assert f[4] == "/" and "ro" in f[5].split(","), mounts


def test_zygote_interpreter_is_pid_1s_child(svc, forked):
    """As a cold program: pid 2, its parent the jail's pid 1, alone with it."""
    j = run_warm(svc, req("import os\nprint(os.getpid(), os.getppid(), sorted(int(p) for p in "
                          "os.listdir('/proc') if p.isdigit()) == [os.getpid()])\n"))
    assert j["stdout"] == "2 1 True\n", j


def test_zygote_runs_leave_nothing(svc, forked):
    """Many runs from the same zygotes: none of their processes stays its
    child (F and G are reaped, the interpreters end with their jails), its
    fds and the responders' do not grow, and each responder has its zygote
    and at most one prepared pid 1 as children."""
    from conftest import alive, children, wait_for
    assert wait_for(lambda: len(zygotes(svc)) == len(svc.responders()), 5.0)
    zs = zygotes(svc)
    nfd = lambda p: len(os.listdir("/proc/%d/fd" % p))
    fds = {z: nfd(z) for z in zs}
    time.sleep(0.5)          # each responder idle, its next stage prepared
    rfds = {r: nfd(r) for r in svc.responders()}
    for i in range(24):
        j = svc.run(req("print(%d)\n" % i)).json
        assert j["stdout"] == "%d\n" % i, j
    time.sleep(0.5)
    for z in zs:
        assert alive(z), z
        assert children(z) == [], children(z)
        assert nfd(z) == fds[z]
    # the responders' own fds (a stage's pipes, cgroup fds, the jail's
    # namespaces for the zygote) are what an idle one holds, not more
    assert wait_for(lambda: {r: nfd(r) for r in svc.responders()} == rfds, 5.0), \
        (rfds, {r: nfd(r) for r in svc.responders()})
    for r in svc.responders():
        assert len(children(r)) <= 2, children(r)


def test_a_killed_zygote_is_replaced(svc, forked):
    """A zygote that died is replaced by the next preparation; runs answer
    throughout and are served warm again."""
    import signal
    from conftest import alive, wait_for
    assert wait_for(lambda: len(zygotes(svc)) == len(svc.responders()), 5.0)
    old = zygotes(svc)
    for z in old:
        os.kill(z, signal.SIGKILL)
    assert wait_for(lambda: not any(alive(z) for z in old), 5.0)
    for i in range(2 * len(old) + 2):
        j = svc.run(req("print('after')\n")).json
        assert j["stdout"] == "after\n", j
    assert run_warm(svc, req("print('warm')\n"))["stdout"] == "warm\n"
    assert wait_for(lambda: len(zygotes(svc)) == len(svc.responders()) and
                    not set(zygotes(svc)) & set(old), 5.0), (old, zygotes(svc))


def test_a_hung_zygote_is_replaced(svc, forked):
    """A zygote that does not answer (stopped here) is killed after 2 s
    and replaced: the runs answer meanwhile, and are served warm again by
    a new zygote."""
    import signal
    from conftest import alive, wait_for
    assert wait_for(lambda: len(zygotes(svc)) == len(svc.responders()), 5.0)
    old = zygotes(svc)
    for z in old:
        os.kill(z, signal.SIGSTOP)
    try:
        for i in range(2 * len(old) + 2):
            j = svc.run(req("print('during')\n")).json
            assert j["stdout"] == "during\n", j
        assert wait_for(lambda: not any(alive(z) for z in old), 10.0), old
        assert run_warm(svc, req("print('warm')\n"))["stdout"] == "warm\n"
        assert wait_for(lambda: len(zygotes(svc)) == len(svc.responders()) and
                        not set(zygotes(svc)) & set(old), 5.0), (old, zygotes(svc))
    finally:
        for z in old:
            try:
                os.kill(z, signal.SIGCONT)
            except OSError:
                pass


def test_a_zygote_is_replaced_after_256_interpreters():
    """The runs of one zygote share its hash seed (docs/SECURITY.md); it
    is replaced after 256 interpreters, with a new seed: on a pool of one,
    the warm runs print one hash() of a str for at most 256 runs (fewer
    when an interpreter was thrown away for a run that came too early),
    then another."""
    from test_warm_node import start_pool, stop_pool
    s = start_pool("--warm-runtime python", 1)
    try:
        if not s.request("GET", "/api/sandbox/info").json["warm"]["forked"]:
            pytest.skip("interpreters are started here")
        hashes = [run_warm(s, req("print(hash('sandbox-fcgi'))\n"))["stdout"] for _ in range(280)]
        change = next(i for i, h in enumerate(hashes) if h != hashes[0])
        assert 128 < change <= 256, (change, hashes[change - 1:change + 1])
        assert len(set(hashes[change:change + 20])) == 1, hashes[change:change + 20]
    finally:
        stop_pool(s)


def cpus_allowed(pid):
    """The CPUs /proc/PID/status allows, as a sorted list."""
    from conftest import proc_status
    out = []
    for part in proc_status(pid)["Cpus_allowed_list"][0].split(","):
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    return out


def test_responders_have_home_cpus_and_programs_every_cpu(svc):
    """--cpu-affinity auto (the default; src/jail/cpus.c): each responder
    runs on one CPU, a different one for each while there are enough, and
    logs it; its programs, warm (forked at the zygote, on that CPU until
    the handover) and cold, and their threads, get every CPU the service
    has."""
    every = sorted(os.sched_getaffinity(0))
    homes = [cpus_allowed(p) for p in svc.responders()]
    assert all(len(h) == 1 and h[0] in every for h in homes), (homes, every)
    if len(every) >= len(homes):
        assert len({h[0] for h in homes}) == len(homes), homes
    logged = {e["cpu"] for e in svc.logs() if e.get("event") == "sandbox.start.home_cpu"}
    assert {h[0] for h in homes} <= logged, (homes, logged)
    want = "%s\n%s\n" % (every, every)
    assert run_warm(svc, req(CORPUS["affinity"]))["stdout"] == want
    cold = svc.run(req(CORPUS["affinity"], entrypoint=COLD)).json
    assert not cold["warm"] and cold["stdout"] == want, cold
    sh = svc.run({"runtime": "bash", "code": "nproc"}).json
    assert sh["stdout"] == "%d\n" % len(every), sh


def test_cpu_affinity_off_leaves_responders_alone():
    """--cpu-affinity off: a responder keeps every CPU it was given."""
    from test_warm_node import start_pool, stop_pool
    s = start_pool("--warm-runtime none --cpu-affinity off", 1)
    try:
        assert [cpus_allowed(p) for p in s.responders()] == [sorted(os.sched_getaffinity(0))]
        assert not any(e.get("event") == "sandbox.start.home_cpu" for e in s.logs())
    finally:
        stop_pool(s)
