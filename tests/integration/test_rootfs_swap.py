"""Swapping `current` under load (issue 4, Tests): no request fails.

A pool of its own runs on a RootFS base made for this test under /var/tmp:
template `minimal` with two versions, each a hard-link copy (`cp -al`) of
the real current version's tree plus a marker file of its own. While client
threads send requests without pause, `current` is flipped between the two
versions the way build-rootfs.sh publishes (a new link renamed over the old
one). Every answer must be a success, both versions must have served, each
run must see one tree from start to end, and once the flipping stops every
responder must serve the final version, without a restart.
"""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import ROOTFS_BASE, Service, free_port, make_env

BASE = ROOTFS_BASE
VERSIONS = ("20990101T000000Z", "20990101T000001Z")
MARKER = "etc/sandbox-marker"
THREADS = 4
PER_THREAD = 15
POOL = 2

# Reads the marker twice with a pause between: a run keeps the tree it
# started on even if `current` is switched meanwhile.
READERS = [
    {"runtime": "bash",
     "code": "cat /etc/sandbox-marker; sleep 0.05; cat /etc/sandbox-marker\n"},
    {"runtime": "python",
     "code": ("import time\n"
              "a = open('/etc/sandbox-marker').read()\n"
              "time.sleep(0.05)\n"
              "print(a + open('/etc/sandbox-marker').read(), end='')\n")},
]


def marker_of(version):
    return "marker-%s\n" % version


def make_version(tdir, real, version):
    """A version dir sharing the real tree's files by hard links. Only new
    files are written into it (the marker, the JSON copies): writing into
    a hard-linked file would change the real RootFS."""
    vdir = os.path.join(tdir, version)
    os.mkdir(vdir, 0o755)
    subprocess.run(["cp", "-al", "--", os.path.join(real, "tree"), os.path.join(vdir, "tree")],
                   check=True, timeout=300)
    marker = os.path.join(vdir, "tree", MARKER)
    assert not os.path.lexists(marker), "the real tree already has %s" % MARKER
    with open(marker, "x") as f:
        f.write(marker_of(version))
    os.chmod(marker, 0o644)
    shutil.copyfile(os.path.join(real, "runtimes.json"), os.path.join(vdir, "runtimes.json"))
    with open(os.path.join(real, "manifest.json")) as f:
        manifest = json.load(f)
    manifest["version"] = version
    with open(os.path.join(vdir, "manifest.json"), "x") as f:
        json.dump(manifest, f)


def switch_current(tdir, version):
    """As rootfs_switch_current in scripts/lib/rootfs-publish.sh: a new
    relative link under a temporary name, rename(2)d over `current`."""
    tmp = os.path.join(tdir, ".current.tmp.%d" % os.getpid())
    os.symlink(version, tmp)
    os.rename(tmp, os.path.join(tdir, "current"))


@pytest.fixture(scope="module")
def swap():
    if os.geteuid() != 0:
        pytest.exit("the integration suite runs as root (service user, cgroups, nginx)", 2)
    real = os.path.realpath(os.path.join(BASE, "minimal", "current"))
    if not os.path.isdir(os.path.join(real, "tree")):
        pytest.fail("no minimal RootFS at %s (scripts/build-rootfs.sh minimal)" % real)
    # Under /var/tmp, not /tmp: hard links need the real RootFS's filesystem.
    top = tempfile.mkdtemp(prefix="sandbox-swap-", dir="/var/tmp")
    b = None
    try:
        os.chmod(top, 0o755)
        base = os.path.join(top, "rootfs")
        tdir = os.path.join(base, "minimal")
        os.makedirs(tdir, 0o755)
        os.chmod(base, 0o755)
        for v in VERSIONS:
            make_version(tdir, real, v)
        switch_current(tdir, VERSIONS[0])
        state = os.path.join(top, "state")
        os.mkdir(state, 0o755)
        b = Service(state, make_env(state, free_port(), SANDBOX_ROOTFS_BASE=base,
                                    SANDBOX_POOL=POOL, SANDBOX_QUEUE=THREADS))
        b.tdir = tdir
        b.ctl("start", "60")
        yield b
    finally:
        if b is not None:
            b.ctl("stop")
        # The jails' mounts of the trees lived in the responders' mount
        # namespaces and went with them; rmtree only unlinks the hard links.
        shutil.rmtree(top, ignore_errors=True)
        assert not os.path.exists(top), top
        assert os.path.isfile(os.path.join(real, "tree", "bin", "bash")), "real tree damaged"


def served_by(svc, rids):
    """Responder pid of each request id, from the responders' log."""
    pids = {}
    for line in svc.logs():
        if line.get("event") == "sandbox.run.finish" and line.get("request_id") in rids:
            pids[line["request_id"]] = line["pid"]
    return pids


def test_swap_current_under_load(swap):
    assert swap.wait_pool(POOL)
    responders = sorted(swap.responders())
    results = [[] for _ in range(THREADS)]
    stop = threading.Event()

    def client(i):
        for n in range(PER_THREAD):
            try:
                r = swap.run(READERS[(i + n) % len(READERS)], timeout=60)
                results[i].append(r)
            except Exception as e:  # a reset or hang fails the test below
                results[i].append(e)

    def flipper(counter):
        k = 0
        while not stop.is_set():
            k += 1
            switch_current(swap.tdir, VERSIONS[k % 2])
            counter.append(VERSIONS[k % 2])
            time.sleep(0.01)

    flips = []
    clients = [threading.Thread(target=client, args=(i,)) for i in range(THREADS)]
    flip = threading.Thread(target=flipper, args=(flips,))
    flip.start()
    for t in clients:
        t.start()
    for t in clients:
        t.join(300)
    stop.set()
    flip.join(10)
    assert not any(t.is_alive() for t in clients + [flip]), "a client hung"
    final = flips[-1]
    assert os.readlink(os.path.join(swap.tdir, "current")) == final
    assert len(flips) >= 20, "only %d flips: the swap was not exercised" % len(flips)

    answers = [r for rs in results for r in rs]
    assert len(answers) == THREADS * PER_THREAD
    failed = [r for r in answers if not hasattr(r, "status") or r.status != 200 or
              r.json.get("status") != "success"]
    assert not failed, "%d of %d requests failed during %d swaps: %s" % (
        len(failed), len(answers), len(flips), failed[:5])
    seen = {}
    for r in answers:
        out = r.json["stdout"]
        first, second = out[:len(out) // 2], out[len(out) // 2:]
        assert first == second, "one run saw two trees: %r" % out
        seen[first] = seen.get(first, 0) + 1
    assert set(seen) == {marker_of(v) for v in VERSIONS}, seen

    # Flipping stopped: every request now sees `final`, on every responder,
    # with no responder restarted.
    rids, tries = set(), 0
    while tries < 10:
        tries += 1
        batch = []
        ts = [threading.Thread(target=lambda: batch.append(swap.run(READERS[0])))
              for _ in range(POOL * 2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert len(batch) == POOL * 2
        for r in batch:
            assert r.status == 200 and r.json["status"] == "success", r
            assert r.json["stdout"] == marker_of(final) * 2, (final, r)
            rids.add(r.header("x-request-id"))
        time.sleep(0.2)   # the finish lines reach the log
        if set(served_by(swap, rids).values()) >= set(responders):
            break
    assert set(served_by(swap, rids).values()) == set(responders), \
        "not every responder served after the swap"
    assert sorted(swap.responders()) == responders, "responders were restarted"
    rt = swap.request("GET", "/api/sandbox/runtimes")
    assert rt.status == 200, rt
    (t,) = rt.json["templates"]
    assert t["name"] == "minimal" and t["version"] == final, t
