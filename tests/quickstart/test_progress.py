"""Progress of long steps (issue 12, item 4): quickstart's RootFS build ran
debootstrap and apt for minutes with their output in a log and nothing on
the terminal. scripts/lib/progress.sh timestamps every line of a step and
says every PROGRESS_SECS how long it has run and the log's last line."""
import pathlib
import re
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[2]
STAMP = r"^\[\d{2}:\d{2}:\d{2}\] "


def progress_run(tmp_path, script, secs=1):
    log_dir = tmp_path / ".build-1"
    log_dir.mkdir()
    cmd = ('set -euo pipefail; . "%s/scripts/lib/progress.sh"; '
           'progress_run "building t" "%s/.build-*/build.log" bash -c "$STEP"; echo "after"'
           % (REPO, tmp_path))
    return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PROGRESS_SECS": str(secs),
                               "STEP": script, "LOG": str(log_dir / "build.log")})


def test_lines_are_timestamped_and_a_heartbeat_names_the_log(tmp_path):
    r = progress_run(tmp_path, 'for i in 1 2 3 4; do echo "I: Extracting pkg$i" >>"$LOG";'
                               ' echo "out $i"; echo "err $i" >&2; sleep 1; done')
    assert r.returncode == 0, r.stderr
    assert r.stdout == "after\n"          # the step's output goes to stderr
    lines = r.stderr.splitlines()
    for i in range(1, 5):
        assert any(re.match(STAMP + "out %d$" % i, l) for l in lines), lines
        assert any(re.match(STAMP + "err %d$" % i, l) for l in lines), lines
    beats = [l for l in lines if re.match(STAMP + r"building t: running for \d+s", l)]
    assert len(beats) >= 2, lines
    assert any(re.search(r", last: I: Extracting pkg[1-4]$", l) for l in beats), beats
    assert all(re.match(STAMP, l) for l in lines), lines


def test_failure_status_is_kept_and_the_heartbeat_stops(tmp_path):
    r = progress_run(tmp_path, 'echo "E: broken" >&2; exit 3')
    assert r.returncode == 3 and "after" not in r.stdout, r
    assert re.search(STAMP + "E: broken$", r.stderr, re.M), r.stderr
    # No reporter outlives the step (it would print into the caller's
    # output): the forked reporter's command line is the caller's.
    out = subprocess.run(["pgrep", "-af", str(tmp_path)], capture_output=True, text=True)
    assert out.stdout == "", out.stdout
