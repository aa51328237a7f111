"""Session fixtures: a real responder pool (spawn-fcgi + multiwatch) behind
real nginx instances on loopback, started with scripts/lib/service-ctl.sh,
the same helpers scripts/quickstart.sh uses.

Instances (one pool of POOL responders, shared):
  main     - no API keys, generous rate limit, limit_conn = POOL + QUEUE,
             where scripts/lib/service-common.sh sizes QUEUE by waiting time
  guarded  - API keys on, strict rate limit (for 401 / 429)
"""
import http.client
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
CTL = REPO / "scripts" / "lib" / "service-ctl.sh"
# The ASan stage (scripts/test.sh): the sanitizer build runs its jails in
# fork mode (no CLONE_VM, no pid 1 prepared ahead, no warm interpreters),
# and its allocator makes RSS unrelated to the documented bounds.
SANITIZED = os.environ.get("SANDBOX_TEST_SANITIZED") == "1"

POOL = 2
QUEUE_TIMEOUT_MS = 5000
RUN_MS = 100            # typical run time the queue is sized by
QUEUE = POOL * QUEUE_TIMEOUT_MS // RUN_MS   # what svc_queue_defaults derives
API_KEY = "it-key-0123456789abcdefABCDEF"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_binary():
    if os.environ.get("SANDBOX_BIN"):
        return os.environ["SANDBOX_BIN"]
    cands = sorted(REPO.glob("_build*/src/fcgi/sandbox-fcgi"), key=lambda p: p.stat().st_mtime)
    cands += [REPO / "src" / "fcgi" / "sandbox-fcgi"]
    for c in reversed(cands):
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    pytest.exit("no sandbox-fcgi binary; build first or set SANDBOX_BIN", 2)


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    @property
    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


def http_call(port, method, path, body=None, headers=None, timeout=60):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        return Resp(r.status, hdrs, r.read())
    finally:
        conn.close()


class Service:
    def __init__(self, state, env):
        self.state = pathlib.Path(state)
        self.env = env
        self.port = int(env["SANDBOX_PORT"])
        self.log_path = self.state / "logs" / "sandbox-fcgi.log"

    def ctl(self, *args, extra=None):
        env = dict(self.env, **(extra or {}))
        subprocess.run([str(CTL)] + list(args), env=env, check=True, timeout=120)

    def request(self, method, path, body=None, headers=None, port=None, timeout=60):
        return http_call(port or self.port, method, path, body, headers, timeout)

    def run(self, req, port=None, timeout=60, headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return self.request("POST", "/api/sandbox/run", json.dumps(req).encode(), h,
                            port=port, timeout=timeout)

    def multiwatch_pid(self):
        return int((self.state / "pool.pid").read_text())

    def responders(self):
        return children(self.multiwatch_pid())

    def wait_pool(self, n=POOL, timeout=5.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(self.responders()) == n:
                return True
            time.sleep(0.02)
        return False

    def logs(self):
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def cgroups_of(self, pid):
        """Every per-run cgroup directory named after pid (unfiltered)."""
        r = subprocess.run(["bash", "-c", ". %s/scripts/lib/service-common.sh; svc_defaults;"
                            " svc_cgroup_leftovers" % REPO],
                           env=self.env, capture_output=True, text=True, check=True)
        return [p for p in r.stdout.splitlines()
                if p and os.path.basename(p).split("-")[-2:-1] == [str(pid)]]

    def cgroup_leftovers(self):
        """Per-run cgroups that should not exist. A live responder holds one
        empty cgroup per hierarchy that jail_idle() made for its next job;
        anything else (a dead process's, or a second one of a live
        responder's) is left over."""
        r = subprocess.run(["bash", "-c", ". %s/scripts/lib/service-common.sh; svc_defaults;"
                            " svc_cgroup_leftovers" % REPO],
                           env=self.env, capture_output=True, text=True, check=True)
        live = set(self.responders())
        seen, left = set(), []
        for path in (l for l in r.stdout.splitlines() if l):
            name = os.path.basename(path)
            parts = name.split("-")
            pid = int(parts[-2]) if len(parts) >= 2 and parts[-2].isdigit() else -1
            key = (os.path.dirname(path), pid)
            if pid in live and key not in seen:
                seen.add(key)
                continue
            left.append(path)
        return left


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        for c in children(todo.pop()):
            out.append(c)
            todo.append(c)
    return out


def warm_interpreter(pid):
    """Whether pid is a warm interpreter (python3 running the bootstrap's
    byte code /opt/sandbox/shims/warm-HASH.pyc, or python3 -c with the
    bootstrap's text, or a fork of the zygote, `python3 -`, inside a jail;
    or node -r /opt/sandbox/shims/warm.js; docs/API.md "Warm
    interpreters"): waiting for its job, or running a job it was handed."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    pyc = rb"/opt/sandbox/shims/warm-[0-9a-f]{16}\.pyc"
    return len(argv) >= 3 and (re.fullmatch(pyc, argv[1]) is not None or
                               (argv[1] == b"-c" and b"def _j():" in argv[2]) or
                               (argv[1] == b"-" and argv[2] == b"" and in_jail(pid)) or
                               (argv[1] == b"-r" and argv[2] == b"/opt/sandbox/shims/warm.js"))


def zygote(pid):
    """Whether pid is a responder's zygote (src/jail/zygote.c): `python3 -`
    outside any jail's pid namespace."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return argv[1:] == [b"-", b""] and not in_jail(pid)


def in_jail(pid):
    """Whether pid lives in a pid namespace below ours (NSpid has more than
    one entry)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return len(line.split()) > 2
    except OSError:
        pass
    return False


def job_pids(responder):
    """The processes of the job a responder is running: its jail's pid 1
    and everything under it.  An idle responder also has a child: the next
    job's pid 1, prepared and waiting in read() for the word to start its
    program, with nothing under it or only a warm interpreter (started
    while idle, waiting for its job too), so it does not count; once a job
    is handed over, pid 1 waits in wait4() for its program.  A program
    still in its set-up (before execve it runs on the responder's memory:
    the same cmdline) does not count either."""
    def cmdline(pid):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                return f.read()
        except OSError:
            return None

    def waiting(pid):
        try:
            with open("/proc/%d/syscall" % pid) as f:
                return f.read().split(" ")[0] == "0"     # read
        except OSError:
            return False

    def reaping(pid):
        try:
            with open("/proc/%d/syscall" % pid) as f:
                return f.read().split(" ")[0] == "61"    # wait4: init_reap
        except OSError:
            return False

    out = []
    for init in children(responder):
        if zygote(init):         # forking the next warm interpreter is not a job
            continue
        below = descendants(init)
        if not below or waiting(init):
            continue
        if len(below) == 1 and cmdline(below[0]) == cmdline(responder):
            continue
        # A warm interpreter still being prepared: pid 1 is between two
        # reads (spawning it, reporting), not yet reaping a job's program.
        if not reaping(init) and all(warm_interpreter(p) for p in below):
            continue
        out += [init] + below
    return out


# Fields of a run's answer that may differ between a warm and a cold run
# of the same program (test_warm.py, test_warm_node.py).
WARM_TIMINGS = ("execution_time_ms", "cpu_time_ms", "memory_peak_kb", "warm", "request_id")


def strip_timings(answer):
    return {k: v for k, v in answer.items() if k not in WARM_TIMINGS}


def run_warm(svc, r, tries=40):
    """The run, served warm: a responder's interpreter is started right
    after its previous answer (node's takes longer than Python's), so
    retry briefly when it was not ready."""
    for _ in range(tries):
        resp = svc.run(r)
        assert resp.status == 200, resp
        if resp.json["warm"]:
            return resp.json
        time.sleep(0.05)
    pytest.fail("never served warm: %s" % resp.json)


def disconnect_cancels_warm_run(svc, body, after):
    """A client that leaves in the middle of a warm run (body, which runs
    for a minute) stops it at once: one sandbox.run.finish, killed,
    cancelled, warm; then the run after (printing "ok") is served warm."""
    import socket
    finished_before = len([l for l in svc.logs() if l.get("event") == "sandbox.run.finish"])
    time.sleep(0.5)          # the responders' interpreters ready
    data = json.dumps(body).encode()
    s = socket.create_connection(("127.0.0.1", svc.port))
    s.sendall(b"POST /api/sandbox/run HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(data) + data)
    time.sleep(1.0)
    t0 = time.monotonic()
    s.close()

    def new_finish():
        return [l for l in svc.logs() if l.get("event") == "sandbox.run.finish"][finished_before:]
    assert wait_for(new_finish, 10.0), "no sandbox.run.finish logged"
    assert time.monotonic() - t0 < 10
    f = new_finish()
    assert [(l["status"], l["cancelled"], l["warm"]) for l in f] == [("killed", True, True)], f
    assert f[0]["duration_ms"] < 10000, f
    assert run_warm(svc, after)["stdout"] == "ok\n"


def warm_waiting(pid):
    """A warm interpreter whose pid 1 still waits to hand it a job."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        with open("/proc/%d/syscall" % ppid) as f:
            return warm_interpreter(pid) and f.read().split(" ")[0] == "0"
    except (OSError, ValueError, IndexError):
        return False


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


# The one callback receiver the shared pool allows (--callback-allow):
# tests/integration/test_callbacks.py listens there. Loopback only.
CALLBACK_PORT = free_port()


def make_env(state, port, **kw):
    env = dict(os.environ)
    env.update({
        "SANDBOX_STATE_DIR": str(state),
        "SANDBOX_PORT": str(port),
        "SANDBOX_POOL": str(POOL),
        "SANDBOX_BIN": find_binary(),
        "SANDBOX_CGROUP": "sandbox-fcgi-it-%d" % port,
        "SANDBOX_RATE": "1000r/s",
        "SANDBOX_BURST": "1000",
        # python, not the default auto: the shared pool's tests must not
        # depend on the mix of runtimes the tests before them ran
        # (test_warm_node.py tests node and auto on pools of their own).
        "SANDBOX_FCGI_ARGS": "--queue-timeout-ms %d --callback-allow 127.0.0.1:%d"
                             " --warm-runtime python" % (QUEUE_TIMEOUT_MS, CALLBACK_PORT),
        "SANDBOX_RUN_MS": str(RUN_MS),
    })
    env.update({k: str(v) for k, v in kw.items()})
    return env


@pytest.fixture(scope="session")
def svc():
    if os.geteuid() != 0:
        pytest.exit("the integration suite runs as root (service user, cgroups, nginx)", 2)
    state = pathlib.Path(tempfile.mkdtemp(prefix="sandbox-it-"))
    os.chmod(state, 0o755)
    s = Service(state, make_env(state, free_port()))
    try:
        s.ctl("start", "60")
    except subprocess.CalledProcessError:
        print(s.log_path.read_text() if s.log_path.exists() else "(no log)")
        s.ctl("stop")
        raise
    # The guarded nginx: same pool, API keys on, 2 r/s with a burst of 2.
    keys = state / "keys"
    keys.write_text("# test key\n%s\n" % API_KEY)
    s.guarded_port = free_port()
    s.guarded_env = dict(s.env, SANDBOX_PORT=str(s.guarded_port), SANDBOX_KEYS_FILE=str(keys),
                         SANDBOX_NGINX_PREFIX=str(state / "nginx-guarded"),
                         SANDBOX_RATE="2r/s", SANDBOX_BURST="2")
    try:
        s.ctl("start-nginx", extra=s.guarded_env)
        yield s
    finally:
        s.ctl("stop-nginx", extra=s.guarded_env)
        s.ctl("stop")
    if os.environ.get("SANDBOX_IT_KEEP") != "1":
        shutil.rmtree(state, ignore_errors=True)


# --- Helpers shared by the test files: one copy of each, here -------------

ROOTFS_BASE = os.environ.get("SANDBOX_ROOTFS_BASE", "/var/lib/sandbox-fcgi/rootfs")


def wait_for(cond, timeout, interval=0.02):
    """Polls cond() until it is true or timeout seconds have passed; returns
    its last value (for a generous bound, never a timing assertion)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    return cond()


def wait_log(svc, pred, timeout=5.0):
    """The log lines of svc for which pred(line) holds, once there is one:
    a responder logs some events after its answer is out."""
    return wait_for(lambda: [l for l in svc.logs() if pred(l)], timeout) or []


def proc_text(pid, name):
    with open("/proc/%d/%s" % (pid, name)) as f:
        return f.read()


def proc_status(pid):
    """/proc/PID/status as {field: [words]}."""
    out = {}
    for line in proc_text(pid, "status").splitlines():
        k, _, v = line.partition(":")
        out[k] = v.split()
    return out


def proc_status_kib(pid, key):
    """One kB field of /proc/PID/status (VmRSS, VmHWM...) as an int."""
    return int(proc_status(pid)[key][0])
