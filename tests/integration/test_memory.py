"""A responder's memory under hostile requests (issue 8, findings 2 and 3).

For each body: reset every responder's peak RSS (clear_refs 5), send the
request over HTTP through nginx, then read VmHWM (the peak during the
request) and VmRSS (after the answer) from /proc/PID/status of each
responder of the pool. The bounds are the ones docs/OPERATIONS.md
("Responder memory") documents for the default caps:

  peak - idle <= PEAK_MIB     for any request, accepted or refused
  after - idle <= AFTER_MIB   once the answer is out

The responder that served the request is the one whose peak moved most;
the others must not move at all beyond noise. Figures are printed (pytest
-s) so that a run records them.
"""
import base64
import json
import os
import re
import time

import pytest

from conftest import REPO, SANITIZED, proc_status_kib

MIB = 1 << 20
MAX_BODY = 24 * MIB          # req_config_defaults: max_body_bytes, nginx client_max_body_size
PEAK_MIB = 80                # docs/OPERATIONS.md, "Responder memory"
AFTER_MIB = 8
OUT_CAP = 16 * MIB           # the largest max_output_bytes a request may ask for


def reset_peak(pid):
    # "5" resets VmHWM to the current RSS (Documentation/filesystems/proc.rst).
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


def settle(svc, pids, timeout=5.0):
    """Waits until no responder runs a job and their RSS stops moving."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        cur = tuple(proc_status_kib(p, "VmRSS") for p in pids)
        if cur == last:
            return cur
        last = cur
        time.sleep(0.1)
    return last


# Each responder's idle RSS, taken the first time this module sees it: a
# responder that kept the memory of an earlier request shows it against
# this figure (a bloated heap would hide the next request's peak).
IDLE = {}


def measure(svc, body, timeout=120):
    """Sends body; returns (response, [(pid, idle, peak, after)] in KiB)."""
    assert svc.wait_pool()
    pids = svc.responders()
    now = settle(svc, pids)
    idle = [IDLE.setdefault(p, n) for p, n in zip(pids, now)]
    for p in pids:
        reset_peak(p)
    r = svc.request("POST", "/api/sandbox/run", body,
                    {"Content-Type": "application/json"}, timeout=timeout)
    peaks = [proc_status_kib(p, "VmHWM") for p in pids]
    # The responder trims its heap right after FCGX_Finish_r, which may
    # come a moment after nginx has passed the answer on.
    after = settle(svc, pids)
    return r, list(zip(pids, idle, peaks, after))


def report(name, r, figs):
    pid, idle, peak, after = max(figs, key=lambda f: f[2] - f[1])
    print("\n%-22s HTTP %d  %9d bytes  idle %6.1f MiB  peak %+7.1f MiB  after %+6.1f MiB"
          % (name, r.status, len(r.body), idle / 1024, (peak - idle) / 1024,
             (after - idle) / 1024))




def check(name, figs):
    if SANITIZED:
        return
    for pid, idle, peak, after in figs:
        assert peak - idle <= PEAK_MIB * 1024, (
            "%s: responder %d peaked %.1f MiB above idle (bound %d MiB)"
            % (name, pid, (peak - idle) / 1024, PEAK_MIB))
        assert after - idle <= AFTER_MIB * 1024, (
            "%s: responder %d kept %.1f MiB above idle after the answer (bound %d MiB)"
            % (name, pid, (after - idle) / 1024, AFTER_MIB))


def fill(prefix, unit, suffix, size=MAX_BODY):
    """prefix + unit * n + suffix, as large as size allows (units joined by ',')."""
    n = (size - len(prefix) - len(suffix)) // (len(unit) + 1)
    return prefix + b",".join([unit] * n) + suffix


HANDLER = b'{"runtime":"python","code":"def handler(e, c=None):\\n    return 1\\n","event":'


def body_tiny_objects():
    return fill(HANDLER + b"[", b"{}", b"]}")


def body_tiny_zeros():
    return fill(HANDLER + b"[", b"0", b"]}")


def body_empty_strings():
    return fill(HANDLER + b"[", b'""', b"]}")


def body_deep_nesting():
    n = (MAX_BODY - len(HANDLER) - 1) // 2
    return HANDLER + b"[" * n + b"]" * n + b"}"


def body_deep_objects():
    n = (MAX_BODY - len(HANDLER) - 1) // 7
    return HANDLER + b'{"a":' * n + b"}" * n + b"}"


def body_many_keys():
    prefix = HANDLER + b"{"
    keys, size, i = [], len(prefix) + 2, 0
    while True:
        k = b'"k%d":0' % i
        if size + len(k) + 1 > MAX_BODY:
            break
        keys.append(k)
        size += len(k) + 1
        i += 1
    return prefix + b",".join(keys) + b"}}"


def body_huge_code():
    """One string of almost the whole body, in a field capped at 128 KiB."""
    pre = b'{"runtime":"python","code":"'
    return pre + b"x" * (MAX_BODY - len(pre) - 2) + b'"}'


def body_escaped_stdin():
    """stdin written as \\u0001 escapes: 16 MiB of text for 2.7 MiB of data."""
    pre = b'{"runtime":"bash","code":"wc -c","stdin":"'
    n = (16 * MIB - len(pre) - 2) // 6
    return pre + b"\\u0001" * n + b'"}'


def body_escaped_stdin_24mib():
    """The same at the body cap: one string of 24 MiB of text needs more
    than the parse budget (docs/API.md, "Limits")."""
    pre = b'{"runtime":"bash","code":"wc -c","stdin":"'
    n = (MAX_BODY - len(pre) - 2) // 6
    return pre + b"\\u0001" * n + b'"}'


def largest_accepted():
    """The largest request the caps accept: 8 MiB of stdin, 8 MiB of files."""
    import base64
    files = [{"path": "f%d.bin" % i, "content": base64.b64encode(os.urandom(2 * MIB)).decode(),
              "encoding": "base64"} for i in range(4)]
    return {"runtime": "bash", "code": "wc -c; cat f*.bin | wc -c",
            "stdin": "s" * (8 * MIB), "files": files}


def body_largest_accepted():
    return json.dumps(largest_accepted()).encode()


def body_bad_utf8_at_end():
    """The largest accepted body, then one byte that is not UTF-8."""
    body = json.dumps(largest_accepted()).encode()
    return body[:-1] + b',"env":{"X":"\xff"}}'


CASES = [
    ("tiny_objects", body_tiny_objects, {413}),
    ("tiny_zeros", body_tiny_zeros, {413}),
    ("empty_strings", body_empty_strings, {413}),
    ("deep_nesting", body_deep_nesting, {400}),
    ("deep_objects", body_deep_objects, {400}),
    ("many_keys", body_many_keys, {413}),
    ("huge_code", body_huge_code, {413}),
    ("escaped_stdin", body_escaped_stdin, {200}),
    ("escaped_stdin_24mib", body_escaped_stdin_24mib, {413}),
    ("largest_accepted", body_largest_accepted, {200}),
    ("bad_utf8_at_end", body_bad_utf8_at_end, {400}),
]


def test_largest_request_and_answer_memory(svc):
    """Everything at its cap at once: 8 MiB of stdin and 8 MiB of files in,
    16 MiB of control characters on each stream and 8 MiB of files out."""
    req = largest_accepted()
    req["code"] = ("mkdir out; cp f*.bin out/; wc -c >/dev/null; "
                   "head -c %d /dev/zero | tr '\\0' '\\1'; "
                   "head -c %d /dev/zero | tr '\\0' '\\2' >&2" % (OUT_CAP, OUT_CAP))
    req["outputs"] = ["out/*.bin"]
    req["limits"] = {"max_output_bytes": OUT_CAP, "memory_mb": 512}
    r, figs = measure(svc, json.dumps(req).encode())
    report("largest_everything", r, figs)
    assert r.status == 200, r
    d = r.json
    assert d["status"] == "success", d["stderr"][:200]
    assert len(d["files"]) == 4 and d["stdout"] == "\x01" * OUT_CAP
    assert len(r.body) <= 6 * 2 * OUT_CAP + (8 * MIB * 4) // 3 + 64 * 1024, len(r.body)
    check("largest_everything", figs)


def test_handler_result_of_tiny_values_memory(svc):
    """The handler's result file is the program's output: 1 MiB of "{}"
    would be a 90 MB tree. It is refused as too complex: a program error."""
    code = ("def handler(e, c=None):\n"
            "    return [{} for _ in range(200000)]\n")
    body = json.dumps({"runtime": "python", "code": code, "event": 1}).encode()
    r, figs = measure(svc, body)
    report("handler_tiny_values", r, figs)
    assert r.status == 200, r
    d = r.json
    assert d["status"] == "error" and d["result"] is None, d
    # The value count (100000) or the decoding budget (16 MiB), whichever
    # is reached first: here the budget, at about 70000 empty objects.
    assert re.match(r"the handler result (holds|needs) more than", d["handler_error"]), d
    check("handler_tiny_values", figs)


@pytest.mark.parametrize("name,make,statuses", CASES, ids=[c[0] for c in CASES])
def test_hostile_body_memory(svc, name, make, statuses):
    body = make()
    assert len(body) <= MAX_BODY
    r, figs = measure(svc, body)
    report(name, r, figs)
    assert r.status in statuses, r
    if r.status != 200:
        err = r.json["error"]
        assert err["code"] in ("too_large", "invalid_json"), err
    else:
        assert r.json["status"] == "success", r
    check(name, figs)


def test_largest_answer_memory(svc):
    """Finding 3: control characters at the output cap on both streams.
    Each byte becomes a 6-byte \\u00XX escape in the answer: the answer is
    bounded by the documented formula and the responder streams it instead
    of building it in memory."""
    code = ("import sys\n"
            "sys.stdout.buffer.write(b'\\x01' * %d)\n"
            "sys.stderr.buffer.write(b'\\x1f' * %d)\n" % (OUT_CAP, OUT_CAP))
    body = json.dumps({"runtime": "python", "code": code,
                       "limits": {"max_output_bytes": OUT_CAP, "memory_mb": 512}}).encode()
    r, figs = measure(svc, body)
    report("control_chars_answer", r, figs)
    assert r.status == 200, r
    d = r.json
    assert d["stdout"] == "\x01" * OUT_CAP and d["stderr"] == "\x1f" * OUT_CAP
    # docs/API.md, "Size of the answer": 6 bytes per output byte at most.
    assert len(r.body) <= 6 * 2 * OUT_CAP + 64 * 1024, len(r.body)
    check("control_chars_answer", figs)


def test_invalid_utf8_answer_memory(svc):
    """Bytes that are not UTF-8 become U+FFFD (3 bytes each) in the answer."""
    code = ("import sys\n"
            "sys.stdout.buffer.write(b'\\xff' * %d)\n"
            "sys.stderr.buffer.write(b'\\x80' * %d)\n" % (OUT_CAP, OUT_CAP))
    body = json.dumps({"runtime": "python", "code": code,
                       "limits": {"max_output_bytes": OUT_CAP, "memory_mb": 512}}).encode()
    r, figs = measure(svc, body)
    report("invalid_utf8_answer", r, figs)
    assert r.status == 200, r
    assert r.json["stdout"] == "\ufffd" * OUT_CAP
    check("invalid_utf8_answer", figs)


def test_base64_answer_memory(svc):
    """output_encoding base64 at the output cap on both streams: streamed
    a slice at a time like output files (resp_write.c), exact bytes, and
    4/3 of them in the answer (docs/API.md, "Size of the answer")."""
    code = ("import sys\n"
            "sys.stdout.buffer.write(bytes(range(256)) * %d)\n"
            "sys.stderr.buffer.write(b'\\xff\\x00' * %d)\n" % (OUT_CAP // 256, OUT_CAP // 2))
    body = json.dumps({"runtime": "python", "code": code, "output_encoding": "base64",
                       "limits": {"max_output_bytes": OUT_CAP, "memory_mb": 512}}).encode()
    r, figs = measure(svc, body)
    report("base64_answer", r, figs)
    assert r.status == 200, r
    d = r.json
    assert d["output_encoding"] == "base64"
    assert base64.b64decode(d["stdout"], validate=True) == bytes(range(256)) * (OUT_CAP // 256)
    assert base64.b64decode(d["stderr"], validate=True) == b"\xff\x00" * (OUT_CAP // 2)
    assert len(r.body) <= (4 * 2 * OUT_CAP) // 3 + 8 + 64 * 1024, len(r.body)
    check("base64_answer", figs)


# ---------- the responders' own memory cap ----------

# scripts/lib/service-common.sh's default (the ASan stage sets a larger one)
RESPONDER_MEMORY_MB = int(os.environ.get("SANDBOX_RESPONDER_MEMORY_MB") or 128)


def memory_cgroup(pid):
    """(version, directory) of pid's memory cgroup."""
    with open("/proc/%d/cgroup" % pid) as f:
        lines = f.read().splitlines()
    for line in lines:
        _, ctrls, path = line.split(":", 2)
        if "memory" in ctrls.split(","):
            return 1, "/sys/fs/cgroup/memory" + path
    for line in lines:
        if line.startswith("0::"):
            return 2, "/sys/fs/cgroup" + line[3:]
    pytest.fail("pid %d has no memory cgroup" % pid)


def read_int(path):
    with open(path) as f:
        return int(f.read().strip())


def cap_bytes(version, d):
    return read_int(os.path.join(d, "memory.limit_in_bytes" if version == 1 else "memory.max"))


def test_responders_run_under_a_memory_cap(svc):
    """Every responder is in the pool's cgroup, capped at POOL x
    SANDBOX_RESPONDER_MEMORY_MB (swap included), and no run is in it."""
    from conftest import POOL
    assert svc.wait_pool()
    pids = svc.responders()
    groups = {memory_cgroup(p) for p in pids + [svc.multiwatch_pid()]}
    assert len(groups) == 1, groups
    version, d = groups.pop()
    assert os.path.basename(d) == "pool", d
    assert cap_bytes(version, d) == POOL * RESPONDER_MEMORY_MB * MIB
    if version == 1 and os.path.exists(os.path.join(d, "memory.memsw.limit_in_bytes")):
        assert read_int(os.path.join(d, "memory.memsw.limit_in_bytes")) == cap_bytes(version, d)
    if version == 2 and os.path.exists(os.path.join(d, "memory.swap.max")):
        assert read_int(os.path.join(d, "memory.swap.max")) == 0
    # The limit is root's: the service user cannot raise it, also after the
    # delegation is done again (quickstart.sh run a second time).
    limit = os.path.join(d, "memory.limit_in_bytes" if version == 1 else "memory.max")
    assert os.stat(limit).st_uid == 0 and not os.stat(limit).st_mode & 0o022
    import subprocess
    subprocess.run(["bash", "-c", ". %s/scripts/lib/service-common.sh; svc_defaults;"
                    " svc_cgroup_delegate" % REPO], env=svc.env, check=True)
    assert os.stat(limit).st_uid == 0 and cap_bytes(version, d) == POOL * RESPONDER_MEMORY_MB * MIB
    # A run is charged to its own cgroup, not to the responders' cap.
    r = svc.run({"runtime": "bash", "code": "cat /proc/self/cgroup"})
    assert r.status == 200, r
    line = [l for l in r.json["stdout"].splitlines()
            if (version == 1 and ":memory:" in l) or (version == 2 and l.startswith("0::"))]
    assert line and not line[0].endswith("/pool"), r.json["stdout"]
    # Everything the memory tests above made the pool hold stayed under it.
    peak = os.path.join(d, "memory.max_usage_in_bytes" if version == 1 else "memory.peak")
    if os.path.exists(peak):
        print("\npool cgroup %s: cap %d MiB, peak usage %.1f MiB"
              % (d, cap_bytes(version, d) // MIB, read_int(peak) / MIB))
        assert read_int(peak) < cap_bytes(version, d)


def test_memory_cap_is_enforced(svc):
    """A process of the pool's cgroup that allocates past the cap is killed
    by the kernel; the responders live on and answer."""
    import subprocess
    assert svc.wait_pool()
    before = svc.responders()
    version, d = memory_cgroup(before[0])
    cap = cap_bytes(version, d)
    hog = subprocess.Popen(
        ["/usr/bin/python3", "-c",
         "import os, sys\n"
         "with open(sys.argv[1], 'w') as f: f.write(str(os.getpid()))\n"
         "b = []\n"
         "for i in range(%d):\n"
         "    b.append(bytearray(b'x' * (1 << 20)))\n"
         "print('survived')\n" % (cap // MIB + 64),
         os.path.join(d, "cgroup.procs")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, _ = hog.communicate(timeout=60)
    assert hog.returncode == -9 and b"survived" not in out, (hog.returncode, out)
    assert svc.responders() == before
    r = svc.run({"runtime": "bash", "code": "echo ok"})
    assert r.status == 200 and r.json["stdout"] == "ok\n", r


def test_streamed_answer_to_a_client_that_reads_nothing_memory(svc):
    """Live output (docs/API.md): control characters at the cap on both
    streams, to a client that reads nothing until the run is over. The
    output that nginx does not take waits in the jail's capture buffers,
    not in a copy: the responder holds the captured output and one line
    (docs/OPERATIONS.md, "Responder memory"), and it is all there, byte
    for byte, once the client reads."""
    from test_stream import Stream, output_of
    code = ("import sys\n"
            "sys.stdout.buffer.write(b'\\x01' * %d)\n"
            "sys.stderr.buffer.write(b'\\x1f' * %d)\n" % (OUT_CAP, OUT_CAP))
    req = {"runtime": "python", "code": code, "stream": True,
           "limits": {"max_output_bytes": OUT_CAP, "memory_mb": 512}}
    assert svc.wait_pool()
    pids = svc.responders()
    now = settle(svc, pids)
    idle = [IDLE.setdefault(p, n) for p, n in zip(pids, now)]
    for p in pids:
        reset_peak(p)
    s = Stream(svc.port, req, timeout=120)
    try:
        assert s.status == 200, s.headers
        # The run ends (its output captured, the rest queued); nothing read.
        time.sleep(3)
        lines = [l for l, _ in s.lines()]
    finally:
        s.close()
    peaks = [proc_status_kib(p, "VmHWM") for p in pids]
    after = settle(svc, pids)
    figs = list(zip(pids, idle, peaks, after))
    assert lines[-1]["type"] == "result" and lines[-1]["status"] == "success", lines[-1]
    assert output_of(lines, "stdout") == b"\x01" * OUT_CAP
    assert output_of(lines, "stderr") == b"\x1f" * OUT_CAP
    pid, i, peak, a = max(figs, key=lambda f: f[2] - f[1])
    print("\nstreamed_unread        idle %6.1f MiB  peak %+7.1f MiB  after %+6.1f MiB"
          % (i / 1024, (peak - i) / 1024, (a - i) / 1024))
    check("streamed_unread", figs)
    # The captured 2 x 16 MiB, one buffer copied as it grows (the running
    # phase of docs/OPERATIONS.md: seen here now and then) and a few MiB;
    # a second copy of the output would be 2 x 16 MiB more. Not under a
    # sanitizer, whose allocator says nothing about these bounds (check()).
    if not SANITIZED:
        assert peak - i <= (3 * OUT_CAP + 8 * MIB) // 1024, (peak - i) / 1024
