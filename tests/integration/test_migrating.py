"""docs/MIGRATING.md's examples, run as written against the pool: each `sh`
block is executed with U set to the service's URL, and its answer must
match the `json` block after it (every field shown; request_id and the
measurements only need to be present and of their type)."""
import json
import pathlib
import re
import subprocess

import pytest

from conftest import REPO

DOC = pathlib.Path(REPO) / "docs" / "MIGRATING.md"
MEASURED = ("execution_time_ms", "cpu_time_ms", "memory_peak_kb")
BLOCK = re.compile(r"```(sh|json)\n(.*?)```", re.S)


def examples():
    blocks = BLOCK.findall(DOC.read_text())
    out = []
    for i, (kind, text) in enumerate(blocks):
        if kind == "sh":
            assert i + 1 < len(blocks) and blocks[i + 1][0] == "json", \
                "MIGRATING.md: a sh example without its answer: %s" % text[:80]
            out.append((text, json.loads(blocks[i + 1][1])))
    return out


EXAMPLES = examples()


def test_every_system_has_an_example():
    assert len(EXAMPLES) >= 5, len(EXAMPLES)
    text = DOC.read_text()
    for n in range(1, 6):
        assert re.search(r"^## %d\. " % n, text, re.M), n


@pytest.mark.parametrize("idx", range(len(EXAMPLES)))
def test_example_answers_as_documented(svc, idx):
    cmd, want = EXAMPLES[idx]
    p = subprocess.run(["bash", "-c", cmd], capture_output=True, timeout=120,
                       env={"U": "http://127.0.0.1:%d/api/sandbox" % svc.port,
                            "PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert isinstance(got.pop("request_id", None), str), got
    want = dict(want)
    want.pop("request_id", None)
    for k in MEASURED:
        assert isinstance(got.pop(k, None), int), (k, got)
        want.pop(k, None)
    # whether the interpreter was ready: documented, not compared
    assert isinstance(got.pop("warm", None), bool), got
    assert isinstance(want.pop("warm", None), bool), want
    assert got == want, "documented:\n%s\nanswered:\n%s" % (json.dumps(want), json.dumps(got))
