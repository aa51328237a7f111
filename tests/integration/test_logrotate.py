"""scripts/logrotate/sandbox-fcgi-quickstart (issue 12, item 10) run by the
real logrotate against a live pool and nginx: after a forced rotation the
old lines are in the .1 files and new requests are logged in the fresh
ones (the responders' log by copytruncate, nginx's after SIGUSR1)."""
import pathlib
import shutil
import subprocess

import pytest

from conftest import REPO, wait_for

CONF = REPO / "scripts" / "logrotate" / "sandbox-fcgi-quickstart"
DEFAULT_STATE = "/run/sandbox-fcgi-quickstart"


def test_logrotate_rotates_live_logs(svc, tmp_path):
    if not shutil.which("logrotate"):
        pytest.skip("logrotate is not installed")
    text = CONF.read_text()
    assert DEFAULT_STATE + "/" in text
    conf = tmp_path / "rotate.conf"
    conf.write_text(text.replace(DEFAULT_STATE, str(svc.state)))
    logs = {
        "fcgi": svc.state / "logs" / "sandbox-fcgi.log",
        "access": svc.state / "nginx" / "logs" / "access.log",
    }
    # Something to rotate, with a request id to find it by.
    r = svc.run({"runtime": "bash", "code": "echo before"})
    assert r.status == 200, r
    before = r.json["request_id"]
    assert wait_for(lambda: all(before in p.read_text() for p in logs.values()), 5)
    subprocess.run(["logrotate", "-f", "-s", str(tmp_path / "state"), str(conf)],
                   check=True, timeout=60)
    for p in logs.values():
        old = pathlib.Path(str(p) + ".1")
        assert old.exists(), old
        assert before in old.read_text(), old
        assert before not in p.read_text(), p
    r = svc.run({"runtime": "bash", "code": "echo after"})
    assert r.status == 200, r
    after = r.json["request_id"]
    # Still logging, into the fresh files (not into the rotated ones).
    assert wait_for(lambda: all(after in p.read_text() for p in logs.values()), 5), \
        {k: p.read_text()[-300:] for k, p in logs.items()}
    for p in logs.values():
        assert after not in pathlib.Path(str(p) + ".1").read_text()
