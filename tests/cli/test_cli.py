"""Command-line conventions of sandbox-fcgi and sandbox-run (issue 12 item 9):
--version, --help on stdout with every option, a usage error as one line
with "try --help" and exit status 2, the man pages, and sandbox-run --env
merged with the API's default environment.

Binaries: SANDBOX_BIN (sandbox-fcgi) and SANDBOX_RUN (sandbox-run), default
_build/; run by scripts/test.sh stage cli against the build and by stage
deb against the installed package. SANDBOX_TEST_ROOTFS: a RootFS tree for
the one test that runs a jail (skipped without it unless SANDBOX_MUST_WORK).
SANDBOX_MAN_DIR: the man pages (default man/ of the checkout; or an installed
share/man with man1/ and man8/).
"""
import gzip
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FCGI = os.environ.get("SANDBOX_BIN", str(REPO / "_build/src/fcgi/sandbox-fcgi"))
RUN = os.environ.get("SANDBOX_RUN", str(REPO / "_build/src/cli/sandbox-run"))
MAN_DIR = Path(os.environ.get("SANDBOX_MAN_DIR", str(REPO / "man")))
ROOTFS = os.environ.get("SANDBOX_TEST_ROOTFS", "")
PROGS = {"sandbox-fcgi": FCGI, "sandbox-run": RUN}
MAN = {"sandbox-fcgi": "sandbox-fcgi.8", "sandbox-run": "sandbox-run.1"}


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, **kw)


def configure_version():
    """AC_INIT's version, the one both programs must print."""
    text = (REPO / "configure.ac").read_text()
    return re.search(r"AC_INIT\(\[sandbox-fcgi\], \[([^]]+)\]", text).group(1)


def long_options(help_text):
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", help_text))


def man_text(name):
    """The page from MAN_DIR itself (the source tree's man/) or from its
    section directory (an installed MAN_DIR/man8/, maybe gzipped)."""
    sect = MAN_DIR / ("man" + MAN[name].rsplit(".", 1)[1])
    for p in (MAN_DIR / MAN[name], sect / MAN[name], sect / (MAN[name] + ".gz")):
        if p.exists():
            data = p.read_bytes()
            return (gzip.decompress(data) if p.suffix == ".gz" else data).decode()
    pytest.fail(f"no man page {MAN[name]} in {MAN_DIR}")


@pytest.mark.parametrize("name", PROGS)
def test_version(name):
    r = run(PROGS[name], "--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{name} {configure_version()}\n"
    assert r.stderr == ""


@pytest.mark.parametrize("name", PROGS)
def test_help_on_stdout(name):
    r = run(PROGS[name], "--help")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.startswith(f"usage: {name} ")
    opts = long_options(r.stdout)
    assert {"--help", "--version", "--cgroup", "--allow-degraded-limits"} <= opts


def test_fcgi_help_gives_each_default():
    """Every option line of sandbox-fcgi --help says its default."""
    out = run(FCGI, "--help").stdout
    entries = re.split(r"\n(?=  -)", out.split("\n\n")[1].split("\n\n")[0])
    assert len(entries) > 25
    for e in entries:
        if e.lstrip().startswith(("-h, --help", "--version")):
            continue
        assert "(default" in e, f"no default in: {e!r}"


@pytest.mark.parametrize("name,args,culprit", [
    ("sandbox-fcgi", ["--no-such-option"], "'--no-such-option'"),
    ("sandbox-fcgi", ["--pool-size", "many"], "'--pool-size'"),
    ("sandbox-fcgi", ["stray-argument"], "'stray-argument'"),
    ("sandbox-run", ["--no-such-option", "--", "true"], "'--no-such-option'"),
    ("sandbox-run", ["--wall-ms", "-5", "--", "true"], "--wall-ms"),
    ("sandbox-run", ["--env", "NOEQUALS", "--", "true"], "--env"),
    ("sandbox-run", ["--env", "1BAD=x", "--", "true"], "env.1BAD"),
    ("sandbox-run", [], "COMMAND"),
])
def test_usage_error_is_one_line(name, args, culprit):
    r = run(PROGS[name], *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"{name}: ")
    assert culprit in lines[0]
    assert lines[0].endswith(f"(try '{name} --help')")


@pytest.mark.parametrize("name", PROGS)
def test_man_page_documents_every_option(name):
    """Each option of --help is in the man page (sandbox-fcgi's --max-*/
    --default-* caps are one entry there, which points to --help)."""
    man = man_text(name).replace("\\-", "-")
    for opt in long_options(run(PROGS[name], "--help").stdout):
        if name == "sandbox-fcgi" and re.match(r"--(max|default)-", opt):
            continue
        assert opt in man, f"{MAN[name]} lacks {opt}"
    for section in ("SYNOPSIS", "OPTIONS", "EXIT STATUS", "SEE ALSO"):
        assert f".SH {section}" in man


def test_man_pages_render_cleanly():
    for name in MAN:
        src = man_text(name)
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=src,
                           capture_output=True, text=True, timeout=60)
        if r.returncode == 127:
            pytest.skip("no groff")
        assert r.returncode == 0 and r.stderr == "", r.stderr


def test_run_env_merges_api_defaults():
    """--env adds to the API's defaults (a name given wins), as POST /run
    does; before, any --env dropped PATH, HOME, LANG and TMPDIR."""
    if not ROOTFS or not Path(ROOTFS).is_dir():
        if os.environ.get("SANDBOX_MUST_WORK") == "1":
            pytest.fail("SANDBOX_TEST_ROOTFS is not a RootFS tree")
        pytest.skip("no SANDBOX_TEST_ROOTFS")
    r = run(RUN, "--rootfs", ROOTFS, "--env", "FOO=bar", "--env", "LANG=C", "--", "env")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["status"] == "success", res
    env = dict(line.split("=", 1) for line in res["stdout"].splitlines())
    assert env == {"FOO": "bar", "LANG": "C", "PATH": "/usr/local/bin:/usr/bin:/bin",
                   "HOME": "/work", "TMPDIR": "/tmp"}
