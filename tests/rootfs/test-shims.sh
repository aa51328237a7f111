#!/bin/bash
# tests/rootfs/test-shims.sh - the handler shims of the RootFS recipe, run
# directly with the host's interpreters (/usr/bin/python3, /usr/bin/node):
# result file format, error reporting, exit status, stdout passthrough.
set -u
. "$(dirname "$0")/lib.sh"

SHIMS=$T_REPO/rootfs/common/overlay/opt/sandbox/shims
PY=${TEST_PYTHON:-/usr/bin/python3}
NODE=${TEST_NODE:-$(command -v node || echo /usr/bin/node)}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# shim LANG SPEC EVENT_JSON: runs the shim in $WORK; sets OUT, RC, RESULT.
shim() {
	local interp shimfile
	case $1 in
	py) interp=$PY; shimfile=$SHIMS/handler.py ;;
	js) interp=$NODE; shimfile=$SHIMS/handler.js ;;
	esac
	printf '%s' "$3" >"$WORK/event.json"
	rm -f "$WORK/result.json"
	OUT=$(cd "$WORK" && timeout 20 "$interp" "$shimfile" "$2" event.json result.json 2>"$WORK/stderr")
	RC=$?
	RESULT=$(cat "$WORK/result.json" 2>/dev/null || echo MISSING)
}

# jqr FILTER: applies FILTER to RESULT (compact output).
jqr() { printf '%s' "$RESULT" | jq -c "$@" 2>/dev/null || echo INVALID-JSON; }

py_file() { printf '%s\n' "$1" >"$WORK/main.py"; }

# ---- Python --------------------------------------------------------------
rm -f "$WORK"/main.*
py_file 'def handler(event, context):
    print("hello from handler")
    return {"sum": event["a"] + event["b"], "fn": context["function_name"]}'
shim py main.handler '{"a": 2, "b": 3}'
check_eq "py: two-argument handler exits 0" 0 "$RC"
check_eq "py: result with context" '{"ok":true,"result":{"sum":5,"fn":"main.handler"}}' "$(jqr .)"
check_eq "py: print goes to stdout" "hello from handler" "$OUT"

py_file 'def handler(event):
    return [event, None, 1.5, "é"]'
shim py main.handler '"x"'
check_eq "py: one-argument handler" '{"ok":true,"result":["x",null,1.5,"é"]}' "$(jqr .)"

py_file 'def handler(event, context=None):
    return 1 / 0'
shim py main.handler '{}'
check_eq "py: exception exits 0" 0 "$RC"
check_eq "py: exception reported" '"ZeroDivisionError: division by zero"' "$(jqr .error)"
check_contains "py: traceback names the user file" 'main.py", line 2' "$(jqr -r .traceback)"
check_eq "py: exception has ok=false" false "$(jqr .ok)"

py_file 'def other(event): return 1'
shim py main.handler '{}'
check_contains "py: missing function" "AttributeError: module 'main' has no function 'handler'" "$(jqr -r .error)"

shim py nosuchmod.handler '{}'
check_contains "py: missing module" "ModuleNotFoundError" "$(jqr -r .error)"

shim py main '{}'
check_contains "py: spec without a dot" "ValueError: handler must be 'module.function'" "$(jqr -r .error)"

py_file 'def handler(event): return {1, 2}'
shim py main.handler '{}'
check_contains "py: non-serializable result" "TypeError: result is not JSON serializable" "$(jqr -r .error)"

py_file 'def handler(event): return float("nan")'
shim py main.handler '{}'
check_contains "py: NaN is not JSON" "ValueError: result is not JSON serializable" "$(jqr -r .error)"

py_file 'import sys
def handler(event): sys.exit(3)'
shim py main.handler '{}'
check_eq "py: sys.exit in handler is reported" '"SystemExit: 3"' "$(jqr .error)"
check_eq "py: sys.exit in handler still exits 0" 0 "$RC"

py_file 'def handler(event:'
shim py main.handler '{}'
check_contains "py: syntax error in module" "SyntaxError" "$(jqr -r .error)"

py_file 'async def handler(event, context):
    return event * 2'
shim py main.handler '21'
check_eq "py: async handler" '{"ok":true,"result":42}' "$(jqr .)"

py_file 'def handler(event): return event'
shim py main.handler '{not json'
check_contains "py: invalid event JSON" "EventError:" "$(jqr -r .error)"

py_file 'import helper
def handler(event): return helper.VALUE'
printf 'VALUE = "from helper"\n' >"$WORK/helper.py"
shim py main.handler '{}'
check_eq "py: imports siblings from the working directory" '"from helper"' "$(jqr .result)"
rm -f "$WORK/helper.py"

py_file 'def handler(event, context): return sorted(context)'
SANDBOX_REQUEST_ID=req-7 SANDBOX_WALL_MS=5000 shim py main.handler '{}'
check_eq "py: context keys with request id and deadline" '["function_name","remaining_time_ms","request_id"]' "$(jqr .result)"

# ---- Node ----------------------------------------------------------------
if [ ! -x "$NODE" ]; then
	fail "node: interpreter $NODE not found"
	summary; exit
fi
rm -f "$WORK"/main.*
printf '%s\n' 'exports.handler = (event, context) => {
  console.log("hello from handler");
  return { sum: event.a + event.b, fn: context.function_name };
};' >"$WORK/main.js"
shim js main.handler '{"a": 2, "b": 3}'
check_eq "js: sync CommonJS handler exits 0" 0 "$RC"
check_eq "js: result with context" '{"ok":true,"result":{"sum":5,"fn":"main.handler"}}' "$(jqr .)"
check_eq "js: console.log goes to stdout" "hello from handler" "$OUT"

printf '%s\n' 'exports.handler = async (event) => new Promise((r) => setTimeout(() => r(event * 2), 10));' >"$WORK/main.js"
shim js main.handler '21'
check_eq "js: Promise-returning handler" '{"ok":true,"result":42}' "$(jqr .)"

printf '%s\n' 'module.exports.handler = () => undefined;' >"$WORK/main.js"
shim js main.handler '{}'
check_eq "js: undefined result is null" '{"ok":true,"result":null}' "$(jqr .)"

printf '%s\n' 'import { helper } from "./helper.mjs";' 'export const handler = async (event) => helper(event);' >"$WORK/main.js"
printf '%s\n' 'export const helper = (e) => "esm:" + e;' >"$WORK/helper.mjs"
shim js main.handler '"x"'
check_eq "js: ES module in main.js (no package.json)" '{"ok":true,"result":"esm:x"}' "$(jqr .)"
check_eq "js: temporary .mjs copy removed" "" "$(cd "$WORK" && ls -A | grep '^\.main' || true)"

rm -f "$WORK/main.js"
printf '%s\n' 'export function handler(event, context) { return context.function_name; }' >"$WORK/main.mjs"
shim js main.handler '{}'
check_eq "js: .mjs module" '{"ok":true,"result":"main.handler"}' "$(jqr .)"
rm -f "$WORK/main.mjs" "$WORK/helper.mjs"

printf '%s\n' 'exports.handler = () => { throw new RangeError("too big"); };' >"$WORK/main.js"
shim js main.handler '{}'
check_eq "js: exception exits 0" 0 "$RC"
check_eq "js: exception reported" '"RangeError: too big"' "$(jqr .error)"
check_contains "js: traceback names the user file" "main.js" "$(jqr -r .traceback)"

printf '%s\n' 'exports.handler = async () => { throw "plain string"; };' >"$WORK/main.js"
shim js main.handler '{}'
check_eq "js: non-Error rejection" '"Error: plain string"' "$(jqr .error)"

printf '%s\n' 'exports.other = () => 1;' >"$WORK/main.js"
shim js main.handler '{}'
check_contains "js: missing export" "AttributeError: module 'main' has no export 'handler'" "$(jqr -r .error)"

shim js nosuchmod.handler '{}'
check_contains "js: missing module" "ModuleNotFoundError" "$(jqr -r .error)"

printf '%s\n' 'exports.handler = () => { const a = {}; a.self = a; return a; };' >"$WORK/main.js"
shim js main.handler '{}'
check_contains "js: circular result" "TypeError: result is not JSON serializable" "$(jqr -r .error)"

printf '%s\n' 'exports.handler = () => { setInterval(() => {}, 1000); return "done"; };' >"$WORK/main.js"
start=$(date +%s)
shim js main.handler '{}'
check_eq "js: lingering timer does not hold the exit" '{"ok":true,"result":"done"}' "$(jqr .)"
check "js: exits promptly despite the timer" [ $(($(date +%s) - start)) -lt 5 ]

printf '%s\n' 'exports.handler = () => new Promise(() => { setTimeout(() => { throw new Error("late"); }, 10); });' >"$WORK/main.js"
shim js main.handler '{}'
check_eq "js: exception thrown from a timer" '"Error: late"' "$(jqr .error)"
check_eq "js: exception thrown from a timer exits 0" 0 "$RC"

printf '%s\n' 'exports.handler = (e) => e;' >"$WORK/main.js"
shim js main.handler '[1,'
check_contains "js: invalid event JSON" "EventError:" "$(jqr -r .error)"

summary
