#!/usr/bin/python3
"""bench/cg-attach.py [ROUNDS] [PAUSE_S] [FILE]: how long moving a process into a
cgroup takes after the machine has been idle for PAUSE_S (default 0.05 s),
per hierarchy, as root.  FILE: cgroup.procs (default: this process writes
the child's pid) or, on v1, tasks (the child writes "0" to move itself, as
the jail's processes do: a single thread moving itself skips the write
side of the rwsem below, src/jail/cg_run.c). Writing to cgroup.procs takes the kernel's
cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period:
slow on idle CPUs. A cold run pays this on the request path when its
program joins its cgroup (docs/PERFORMANCE.md, "Cgroup attach after a
pause"). Makes and removes its own cgroups (cga-bench-PID)."""
import os
import statistics
import subprocess
import sys
import time

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
pause = float(sys.argv[2]) if len(sys.argv) > 2 else 0.05
attach = sys.argv[3] if len(sys.argv) > 3 else "cgroup.procs"
name = "cga-bench-%d" % os.getpid()
v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
hier = [""] if v2 else [h for h in ("memory", "pids", "cpuacct")
                        if os.path.isdir("/sys/fs/cgroup/" + h)]
dirs = [os.path.join("/sys/fs/cgroup", h, name) for h in hier]
for d in dirs:
    os.mkdir(d)
first, total = [], []
try:
    for _ in range(rounds):
        time.sleep(pause)
        if attach == "tasks":
            fds = [os.open(os.path.join(d, "tasks"), os.O_WRONLY) for d in dirs]
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                t0 = time.perf_counter()
                marks = []
                for fd in fds:
                    os.write(fd, b"0")
                    marks.append(time.perf_counter())
                os.write(w, b"%f %f" % ((marks[0] - t0) * 1000, (marks[-1] - t0) * 1000))
                os._exit(0)
            os.close(w)
            a, b = os.read(r, 100).split()
            os.close(r)
            os.waitpid(pid, 0)
            for fd in fds:
                os.close(fd)
            first.append(float(a))
            total.append(float(b))
            continue
        p = subprocess.Popen(["sleep", "30"])
        t0 = time.perf_counter()
        marks = []
        for d in dirs:
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(p.pid))
            marks.append(time.perf_counter())
        first.append((marks[0] - t0) * 1000)
        total.append((marks[-1] - t0) * 1000)
        p.kill()
        p.wait()
finally:
    for d in dirs:
        os.rmdir(d)
q = lambda v, x: sorted(v)[min(len(v) - 1, int(len(v) * x))]
print("%s: cgroup %s, %d rounds, %.0f ms pause: first attach median %.2f ms (p90 %.2f), "
      "all %d hierarchies median %.2f ms" % (attach, "v2" if v2 else "v1 " + ",".join(hier), rounds,
                                           pause * 1000, statistics.median(first), q(first, 0.9),
                                           len(dirs), statistics.median(total)))
