"""A program that cannot be started says why (issue 12, item 3): a typo in
the entrypoint once answered exit_code 127 with an empty stderr."""
import base64


def run(svc, **req):
    r = svc.run(dict({"runtime": "python"}, **req))
    assert r.status == 200, r
    return r.json


def test_entrypoint_typo_says_command_not_found(svc):
    d = run(svc, code="print(1)\n", entrypoint="pyhton main.py")
    assert d["status"] == "error" and d["exit_code"] == 127, d
    assert d["stderr"] == "pyhton: command not found\n", d
    assert d["exec_error"] == {"errno": "ENOENT", "message": "pyhton: command not found"}, d
    assert d["stdout"] == ""


def test_missing_path_says_no_such_file(svc):
    d = run(svc, code="print(1)\n", entrypoint=["./nope.sh"])
    assert d["exit_code"] == 127, d
    assert d["stderr"] == "./nope.sh: No such file or directory\n", d
    assert d["exec_error"]["errno"] == "ENOENT"


def test_non_executable_file_says_permission_denied(svc):
    d = run(svc, files=[{"path": "run.sh", "content": "#!/bin/sh\necho hi\n"}],
            entrypoint="./run.sh")
    assert d["exit_code"] == 127, d
    assert d["stderr"] == "./run.sh: Permission denied\n", d
    assert d["exec_error"] == {"errno": "EACCES", "message": "./run.sh: Permission denied"}, d


def test_not_a_program_says_cannot_execute(svc):
    junk = base64.b64encode(b"\x00\x01\x02 not an ELF and no #!\n").decode()
    d = run(svc, files=[{"path": "blob", "content": junk, "encoding": "base64",
                         "executable": True}], entrypoint="./blob")
    assert d["exit_code"] == 127, d
    assert d["stderr"] == "./blob: cannot execute binary file: Exec format error\n", d
    assert d["exec_error"]["errno"] == "ENOEXEC"


def test_program_that_ran_has_no_exec_error(svc):
    """exit 127 from the program itself is not an exec failure."""
    d = run(svc, code="import sys\nsys.stderr.write('mine\\n')\nsys.exit(127)\n")
    assert d["exit_code"] == 127 and d["stderr"] == "mine\n", d
    assert "exec_error" not in d
    d = run(svc, code="print(1)\n")
    assert d["status"] == "success" and "exec_error" not in d
