"""Handler shim: calls module.function(event, context) from the user's files.

Usage: python3 handler.py MODULE.FUNCTION EVENT_PATH RESULT_PATH

The working directory holds the user's files (/work in the jail); it becomes
sys.path[0], so "main.handler" imports ./main.py.  The event is read from
EVENT_PATH (JSON); the outcome is written to RESULT_PATH as one JSON object:
    {"ok": true, "result": <JSON value>}
    {"ok": false, "error": "<Type>: <message>", "traceback": "..."}
The shim exits 0 in both cases, so a non-zero exit status means the
interpreter itself died (killed, out of memory, ...).  What the handler
prints still goes to stdout/stderr.

The context argument is a plain dict:
    function_name      the MODULE.FUNCTION string
    request_id         $SANDBOX_REQUEST_ID, only when set
    remaining_time_ms  only when $SANDBOX_WALL_MS is set: that budget minus
                       the time elapsed since the shim started
A handler may take one argument (event) or two (event, context); an
"async def" handler is run to completion with asyncio.run().
"""

import inspect
import json
import os
import sys
import time
import traceback

START = time.monotonic()


def make_context(spec):
    ctx = {"function_name": spec}
    request_id = os.environ.get("SANDBOX_REQUEST_ID")
    if request_id:
        ctx["request_id"] = request_id
    wall_ms = os.environ.get("SANDBOX_WALL_MS", "")
    if wall_ms.isdigit():
        elapsed = int((time.monotonic() - START) * 1000)
        ctx["remaining_time_ms"] = max(0, int(wall_ms) - elapsed)
    return ctx


def error_of(exc, skip_frames=0):
    """Formats exc as ("Type: message", traceback), dropping our own frames."""
    tb = exc.__traceback__
    for _ in range(skip_frames):
        if tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    return "%s: %s" % (type(exc).__name__, exc), text


def load_function(spec):
    module_name, sep, func_name = spec.rpartition(".")
    if not sep or not module_name or not func_name:
        raise ValueError("handler must be 'module.function', got %r" % spec)
    __import__(module_name)
    module = sys.modules[module_name]
    func = getattr(module, func_name, None)
    if func is None:
        raise AttributeError("module %r has no function %r"
                             % (module_name, func_name))
    if not callable(func):
        raise TypeError("%s is not callable" % spec)
    return func


def accepts_context(func):
    """True unless the signature cannot take a second positional argument."""
    try:
        inspect.signature(func).bind(None, None)
    except TypeError:
        return False
    except ValueError:      # no signature (some builtins): try both
        return True
    return True


def run(spec, event_path):
    """Returns the result dict to write."""
    try:
        with open(event_path, encoding="utf-8") as f:
            event = json.load(f)
    except (OSError, ValueError) as exc:
        msg, _ = error_of(exc)
        return {"ok": False, "error": "EventError: " + msg, "traceback": ""}
    try:
        func = load_function(spec)
    except BaseException as exc:   # SyntaxError, SystemExit at import, ...
        msg, text = error_of(exc, skip_frames=1)
        return {"ok": False, "error": msg, "traceback": text}
    try:
        if accepts_context(func):
            value = func(event, make_context(spec))
        else:
            value = func(event)
        if inspect.iscoroutine(value):
            import asyncio      # only paid for by async handlers
            value = asyncio.run(value)
    except BaseException as exc:   # includes SystemExit from sys.exit()
        msg, text = error_of(exc, skip_frames=1)
        return {"ok": False, "error": msg, "traceback": text}
    try:
        # allow_nan=False: NaN/Infinity are not JSON and the responder's
        # parser would reject the whole file.
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return {"ok": False, "error": "%s: result is not JSON serializable: %s"
                % (type(exc).__name__, exc), "traceback": ""}
    return {"ok": True, "result": value}


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: handler.py MODULE.FUNCTION EVENT RESULT\n")
        return 2
    spec, event_path, result_path = argv[1], argv[2], argv[3]
    # sys.path[0] is this shim's directory; the user's modules live in cwd.
    sys.path[0] = os.getcwd()
    sys.argv = [spec]
    outcome = run(spec, event_path)
    sys.stdout.flush()
    sys.stderr.flush()
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(outcome, f, allow_nan=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
