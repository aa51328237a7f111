"""The reference examples of docs/API.md, files in and out."""
import base64
import time


def ok(r):
    assert r.status == 200, r
    return r.json


def test_python_code(svc):
    t0 = time.monotonic()
    d = ok(svc.run({"runtime": "python", "code": "print(6 * 7)"}))
    took_ms = (time.monotonic() - t0) * 1000
    assert d["status"] == "success" and d["exit_code"] == 0, d
    assert d["stdout"] == "42\n"
    assert d["signal"] is None
    # Milliseconds of the program's life: python's start-up takes some, and
    # it is part of the request's time as the client saw it.
    t = d["execution_time_ms"]
    assert isinstance(t, int) and 1 <= t <= took_ms, (t, took_ms)


def test_nsjail_style_files_and_entrypoint(svc):
    d = ok(svc.run({
        "runtime": "python",
        "files": [
            {"path": "test.py", "content": "from lib.util import add\nimport sys\nprint(add(2, 3), sys.argv[1:])\n"},
            {"path": "lib/__init__.py", "content": ""},
            {"path": "lib/util.py", "content": "def add(a, b):\n    return a + b\n"},
        ],
        "entrypoint": "python test.py 'a b'",
        "args": ["c"],
    }))
    assert d["status"] == "success", d
    assert d["stdout"] == "5 ['a b', 'c']\n"


def test_python_handler_with_event(svc):
    d = ok(svc.run({
        "runtime": "python",
        "code": "def handler(event, context=None):\n    print('hi')\n    return {'sum': sum(event['n'])}\n",
        "event": {"n": [1, 2, 3]},
    }))
    assert d["status"] == "success", d
    assert d["result"] == {"sum": 6}
    assert "hi" in d["stdout"]


def test_node_handler_promise_with_event(svc):
    d = ok(svc.run({
        "runtime": "node",
        "code": "exports.handler = async (event) => { console.log('x'); return {len: event.s.length}; };\n",
        "event": {"s": "hello"},
    }))
    assert d["status"] == "success", d
    assert d["result"] == {"len": 5}


def test_node_code_and_alias(svc):
    d = ok(svc.run({"runtime": "js", "code": "console.log([1,2,3].map(x => x * 2).join(','))"}))
    assert d["stdout"] == "2,4,6\n", d


def test_shell_script_stdin_env_exit_code(svc):
    d = ok(svc.run({
        "runtime": "bash",
        "code": "read -r line; echo \"$GREETING $line\"; echo oops >&2; exit 3\n",
        "stdin": "world\n",
        "env": {"GREETING": "hello"},
    }))
    assert d["status"] == "error", d
    assert d["exit_code"] == 3
    assert d["stdout"] == "hello world\n"
    assert d["stderr"] == "oops\n"


def test_files_in_and_out(svc):
    blob = bytes(range(256))
    d = ok(svc.run({
        "runtime": "bash",
        "files": [{"path": "in/blob.bin", "content": base64.b64encode(blob).decode(), "encoding": "base64"}],
        "code": "mkdir -p out && cp in/blob.bin out/copy.bin && echo a,b > r.csv && ln -s /etc/passwd out/link.bin\n",
        "outputs": ["out/*.bin", "*.csv"],
    }))
    assert d["status"] == "success", d
    files = {f["path"]: f for f in d["files"]}
    assert set(files) == {"out/copy.bin", "r.csv"}, "symlinks are never returned"
    assert base64.b64decode(files["out/copy.bin"]["content"]) == blob
    assert files["out/copy.bin"]["size"] == 256
    assert base64.b64decode(files["r.csv"]["content"]) == b"a,b\n"


def test_program_cannot_reach_network(svc):
    d = ok(svc.run({"runtime": "python", "code":
                    "import socket\ns=socket.socket()\ns.settimeout(1)\n"
                    "try:\n    s.connect(('127.0.0.1', %d))\n    print('connected')\n"
                    "except OSError as e:\n    print('blocked')\n" % svc.port}))
    assert d["stdout"] == "blocked\n", d
