# scripts/lib/rootfs-runtime-checks.sh - run each runtime of a built
# template inside a real jail with sandbox-run.  Needs rootfs-common.sh and
# rootfs-checks.sh (vpass/vfail).

RT_STDIN_LINE="line from verify-rootfs"
RT_ENV=(--env PATH=/usr/local/bin:/usr/bin:/bin --env HOME=/work --env LANG=C.UTF-8)

# rt_find_sandbox_run: prints the sandbox-run binary to use.
rt_find_sandbox_run() {
	if [ -n "${SANDBOX_RUN:-}" ]; then
		[ -x "$SANDBOX_RUN" ] || { rootfs_log "\$SANDBOX_RUN=$SANDBOX_RUN is not executable"; return 1; }
		printf '%s\n' "$SANDBOX_RUN"
	elif command -v sandbox-run >/dev/null 2>&1; then
		command -v sandbox-run
	elif [ -x "$ROOTFS_REPO/src/cli/sandbox-run" ]; then
		printf '%s\n' "$ROOTFS_REPO/src/cli/sandbox-run"
	else
		return 1
	fi
}

# rt_jail WHAT EXPECTED SANDBOX_RUN_OPTIONS... -- CMD...: runs CMD in a jail
# on RT_TREE.  Passes when the program ran (status success, exit code 0) and,
# unless EXPECTED is "*", printed exactly EXPECTED ("json:VALUE": printed
# JSON equal to VALUE).
rt_jail() {
	local what=$1 expected=$2 out rc status code stdout
	shift 2
	out=$("$RT_BIN" --rootfs "$RT_TREE" "${RT_ENV[@]}" "$@" 2>"$RT_TMP/stderr")
	rc=$?
	status=$(jq -r '.status // "none"' <<<"$out" 2>/dev/null) || status="(not JSON)"
	code=$(jq -r '.exit_code // "none"' <<<"$out" 2>/dev/null)
	stdout=$(jq -j '.stdout // ""' <<<"$out" 2>/dev/null; printf x)
	stdout=${stdout%x}
	if [[ $expected = json:* ]]; then
		# JSON output: compare canonical forms (key order and spacing vary).
		stdout=$(jq -cS . <<<"$stdout" 2>/dev/null || printf '%s' "$stdout")
		expected=$(jq -cS . <<<"${expected#json:}")
	fi
	if [ "$rc" -eq 0 ] && [ "$status" = success ] && [ "$code" = 0 ] &&
		{ [ "$expected" = "*" ] || [ "$stdout" = "$expected" ]; }; then
		vpass "$what"
		return 0
	fi
	vfail "$what: sandbox-run exit $rc, status $status, exit_code $code"$'\n'"$(
		printf '      stdout: %s\n' "$(printf '%s' "$stdout" | head -c 300)"
		printf '      expected: %s\n' "$(printf '%s' "$expected" | head -c 300)"
		printf '      program stderr: %s\n' "$(jq -r '.stderr // ""' <<<"$out" 2>/dev/null | head -c 600)"
		printf '      error: %s\n' "$(jq -c '.error // empty' <<<"$out" 2>/dev/null)"
		printf '      sandbox-run stderr: %s\n' "$(head -c 300 "$RT_TMP/stderr")")"
	return 1
}

# rt_argv I KEY: the runtime's argv KEY (run, handler, compile.argv), one
# element per line, with {file} replaced.
rt_argv() {
	jq -r --argjson i "$1" --arg f "$RT_FILE" ".runtimes[\$i].$2 // [] | .[] | gsub(\"\\\\{file\\\\}\"; \$f)" "$RT_VDIR/runtimes.json"
}

# rt_limit_opts I: sandbox-run options for the runtime's own limits.
rt_limit_opts() {
	jq -r --argjson i "$1" '.runtimes[$i].limits // {} |
		(if .memory_mb then "--memory-mb", (.memory_mb | tostring) else empty end),
		(if .max_processes then "--max-processes", (.max_processes | tostring) else empty end)' "$RT_VDIR/runtimes.json"
}

rt_check_hello() {
	local i=$1 name=$2 sample=$RT_RECIPE/samples/$2/hello desc
	local -a run compile cmd limits
	if [ ! -f "$sample" ]; then
		vfail "$name: no sample program $sample (add one for each runtime)"
		return
	fi
	mapfile -t run < <(rt_argv "$i" run)
	mapfile -t compile < <(rt_argv "$i" compile.argv)
	mapfile -t limits < <(rt_limit_opts "$i")
	printf '%s\n' "$RT_STDIN_LINE" >"$RT_TMP/stdin"
	if [ ${#compile[@]} -gt 0 ]; then
		# Compile then run in one jail: bash runs the two argv vectors it
		# is given as arguments (no string is parsed as shell code).
		cmd=(bash -c 'n=$1; shift; "${@:1:n}" || exit; shift "$n"; exec "$@"' compile-run "${#compile[@]}" "${compile[@]}" "${run[@]}")
		limits=(--wall-ms 60000 --memory-mb 512 --max-processes 64)
	else
		cmd=("${run[@]}")
	fi
	desc=${run[*]}
	[ ${#compile[@]} -eq 0 ] || desc="${compile[*]} && $desc"
	rt_jail "$name: hello world with stdin ($desc)" \
		"hello sandbox"$'\n'"stdin: $RT_STDIN_LINE"$'\n' \
		--file "$RT_FILE=$sample" --stdin "$RT_TMP/stdin" "${limits[@]}" -- "${cmd[@]}"
}

rt_check_handler() {
	local i=$1 name=$2 sample=$RT_RECIPE/samples/$2/handler module
	local -a handler limits
	mapfile -t handler < <(rt_argv "$i" handler)
	[ ${#handler[@]} -gt 0 ] || return 0
	if [ ! -f "$sample" ]; then
		vfail "$name: no handler sample $sample"
		return
	fi
	mapfile -t limits < <(rt_limit_opts "$i")
	module=${RT_FILE%.*}
	handler=("${handler[@]//\{handler\}/$module.handler}")
	handler=("${handler[@]//\{event\}//work/event.json}")
	handler=("${handler[@]//\{result\}//tmp/result.json}")
	rt_jail "$name: handler shim (${handler[*]})" 'json:{"ok": true, "result": {"doubled": 42}}' \
		--file "$RT_FILE=$sample" --file-data 'event.json={"n": 21}' "${limits[@]}" -- \
		bash -c '"$@" || exit; cat /tmp/result.json' handler "${handler[@]}"
}

rt_check_imports() {
	local i=$1 name=$2 list=$RT_RECIPE/$RT_TEMPLATE/imports rt mod interp
	local -a limits
	[ -f "$list" ] || return 0
	mapfile -t limits < <(rt_limit_opts "$i")
	interp=$(jq -r --argjson i "$i" '.runtimes[$i].run[0]' "$RT_VDIR/runtimes.json")
	while read -r rt mod; do
		[ "$rt" = "$name" ] || continue
		case $name in
		python) rt_jail "$name: import $mod" "" "${limits[@]}" -- "$interp" -c "import $mod" ;;
		node) rt_jail "$name: require('$mod')" "" "${limits[@]}" -- "$interp" -e "require('$mod')" ;;
		*) vfail "$list: imports for runtime '$name' are not supported (python and node only)" ;;
		esac
	done < <(sed 's/#.*//' "$list" | awk 'NF == 2')
}

# The tree is mounted read-only and the sandbox user owns nothing in it.
rt_check_read_only() {
	rt_jail "the RootFS is read-only in the jail" "read-only"$'\n' -- \
		bash -c 'for d in / /etc /usr /opt/sandbox /var/tmp; do touch "$d/.probe" 2>/dev/null && { echo "writable: $d"; exit; }; done; echo read-only'
}

# rt_check_all VERSION_DIR RECIPE SANDBOX_RUN
rt_check_all() {
	local n i name
	RT_VDIR=$1
	RT_TREE=$1/tree
	RT_RECIPE=$2
	RT_BIN=$3
	RT_TEMPLATE=$(jq -r .template "$RT_VDIR/manifest.json")
	RT_TMP=$(mktemp -d)
	n=$(jq '.runtimes | length' "$RT_VDIR/runtimes.json" 2>/dev/null || echo 0)
	for ((i = 0; i < n; i++)); do
		name=$(jq -r --argjson i "$i" '.runtimes[$i].name' "$RT_VDIR/runtimes.json")
		RT_FILE=$(jq -r --argjson i "$i" '.runtimes[$i].file' "$RT_VDIR/runtimes.json")
		rt_check_hello "$i" "$name"
		rt_check_handler "$i" "$name"
		rt_check_imports "$i" "$name"
	done
	rt_check_read_only
	rm -rf -- "$RT_TMP"
}
