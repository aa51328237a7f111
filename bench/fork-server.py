"""bench/fork-server.py [ROUNDS] - would a Python fork server beat a fresh
interpreter here?  (issue 13, its saturated target)

A warm interpreter moves Python's start-up off a request's latency but not
off the CPU: at saturation every run still pays a whole start.  A fork
server ("zygote") would start the interpreter once and fork it per request.
Each child must still run in fresh namespaces (finding 6: nothing shared
between runs), and there are two ways to get them:
  unshare  the forked child unshares user, mount, network, IPC, UTS,
           cgroup and PID namespaces itself, writes its uid map, forks
           pid 1 (a new PID namespace takes effect for children only),
           which makes / private, mounts a tmpfs (as a jail does for
           /tmp) and forks the program (pid 2: pid 1 ignores signals it
           has no handler for, so the program cannot be pid 1);
  setns    the namespaces and their pid 1 are prepared by someone else
           (the responder's C jail does exactly this today while idle:
           bench/launch.sh's lib+idle row is its cost); the server joins
           the PID namespace for its next child and forks, and the child
           joins the user, mount, network, IPC, UTS and cgroup namespaces.
Measured per round, interleaved, ROUNDS rounds (default 40), `print(1)`
with stdout to /dev/null:
  bare     posix_spawn of `python3 -c 'print(1)'` (bench/warm.sh's bare);
  fork     fork of this started interpreter, the child runs the program;
  unshare, setns as above (setns: the prepared pid 1 is made outside the
           timed part and its CPU is not counted).
Prints per method the median latency, the CPU per run (busy jiffies of
/proc/stat over its runs, all CPUs, so kernel workers count) and both as
ratios to bare.  ctypes stands in for os.unshare/os.setns (Python 3.11 has
neither).  No network traffic.  Run as root."""
import ctypes
import os
import statistics as st
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x20000, 0x2000000, 0x4000000, 0x8000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
ALL_NS = (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
          | CLONE_NEWCGROUP | CLONE_NEWPID)
JOINED = ("user", "mnt", "net", "ipc", "uts", "cgroup")   # in setns(2)'s order
MS_REC, MS_PRIVATE = 0x4000, 0x40000
PROG = compile("print(1)", "/work/main.py", "exec")
DEVNULL = os.open("/dev/null", os.O_WRONLY | os.O_CLOEXEC)
HZ = os.sysconf("SC_CLK_TCK")


def busy_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4]          # all but idle and iowait


def check(rc, what):
    if rc != 0:
        raise OSError(ctypes.get_errno(), what)


def run_program():
    os.dup2(DEVNULL, 1)
    exec(PROG, {"__name__": "__main__"})
    sys.stdout.flush()


def fork_wait(child):
    """Forks; the child runs child() and _exits 0, or 99 on an exception."""
    pid = os.fork()
    if pid == 0:
        rc = 99
        try:
            child()
            rc = 0
        except BaseException as e:
            print("child: %r" % e, file=sys.stderr)
        finally:
            os._exit(rc)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise SystemExit("child failed: status %d" % status)


UID = os.getuid()


def write_uid_map():
    with open("/proc/self/uid_map", "w") as f:
        f.write("0 %d 1" % UID)         # our uid before unshare: after it, 65534


def pid1():
    check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount private")
    check(libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, b"size=1m"), "mount tmpfs")
    fork_wait(run_program)


def by_unshare():
    check(libc.unshare(ALL_NS), "unshare")
    write_uid_map()
    fork_wait(pid1)


def prepared():
    """A pid 1 waiting in fresh namespaces -> (its pid here, fd keeping it)."""
    r, w = os.pipe()
    keep_r, keep_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.close(keep_w)
        check(libc.unshare(ALL_NS), "unshare")
        write_uid_map()
        p = os.fork()
        if p == 0:
            os.read(keep_r, 1)         # until the round ends
            os._exit(0)
        os.write(w, b"%d" % p)
        os._exit(0)
    os.close(w)
    os.close(keep_r)
    p1 = int(os.read(r, 32))
    os.close(r)
    os.waitpid(pid, 0)
    return p1, keep_w


def by_setns(fds, own_pid_ns):
    check(libc.setns(fds["pid"], CLONE_NEWPID), "setns pid")
    try:
        def child():
            for name in JOINED:
                check(libc.setns(fds[name], 0), "setns " + name)
            run_program()
        fork_wait(child)
    finally:
        check(libc.setns(own_pid_ns, CLONE_NEWPID), "setns back")


def bare():
    pid = os.posix_spawn("/usr/bin/python3", ["python3", "-c", "print(1)"], {"PATH": "/usr/bin:/bin"},
                         file_actions=[(os.POSIX_SPAWN_DUP2, DEVNULL, 1)])
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise SystemExit("bare launch failed")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    own_pid_ns = os.open("/proc/self/ns/pid_for_children", os.O_RDONLY | os.O_CLOEXEC)
    lat = {m: [] for m in ("bare", "fork", "unshare", "setns")}
    cpu = dict.fromkeys(lat, 0)

    def timed(name, fn, *args):
        j, t = busy_jiffies(), time.monotonic()
        fn(*args)
        lat[name].append((time.monotonic() - t) * 1000)
        cpu[name] += busy_jiffies() - j

    for _ in range(n):
        timed("bare", bare)
        timed("fork", fork_wait, run_program)
        timed("unshare", fork_wait, by_unshare)
        p1, keep = prepared()
        fds = {name: os.open("/proc/%d/ns/%s" % (p1, name), os.O_RDONLY | os.O_CLOEXEC)
               for name in ("pid",) + JOINED}
        timed("setns", by_setns, fds, own_pid_ns)
        for fd in fds.values():
            os.close(fd)
        os.close(keep)                  # its pid 1 ends (not our child: init reaps it)
    print("# %s %s, %d cpus; %d rounds, methods interleaved" % (
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), os.uname().release, os.cpu_count(), n))
    print("%-8s %8s %8s %9s %9s" % ("method", "p50_ms", "cpu_ms", "p50/bare", "cpu/bare"))
    b50, bcpu = st.median(lat["bare"]), cpu["bare"] * 1000 / HZ / n
    for name in lat:
        m, c = st.median(lat[name]), cpu[name] * 1000 / HZ / n
        print("%-8s %8.2f %8.2f %9.2f %9.2f" % (name, m, c, m / b50, c / bcpu))


main()
