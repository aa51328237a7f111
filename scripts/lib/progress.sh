# progress.sh - progress reports for long steps (a RootFS build takes
# minutes: debootstrap and apt write to a build log and say nothing on the
# terminal meanwhile, issue 12). Sourced by scripts/quickstart.sh. Needs bash.
#
# Not part of build-rootfs.sh: the RootFS recipe hash covers that script
# and its libraries (scripts/lib/rootfs-{common,build,publish}.sh), so a
# change of their messages would make every installed template stale and
# rebuild it. This file is not in the hash.

# progress_stamp: copies stdin to stdout, each line prefixed with the time.
progress_stamp() {
	local line
	while IFS= read -r line || [ -n "$line" ]; do
		printf '[%(%H:%M:%S)T] %s\n' -1 "$line"
	done
}

# progress_newest GLOB: the most recently modified file matching GLOB.
progress_newest() {
	local f newest=
	# shellcheck disable=SC2086  # GLOB is a pattern to expand
	for f in $1; do
		[ -f "$f" ] || continue
		if [ -z "$newest" ] || [ "$f" -nt "$newest" ]; then newest=$f; fi
	done
	printf '%s' "$newest"
}

# progress_beat WHAT LOG_GLOB SHELL_PID: every PROGRESS_SECS (default 15)
# seconds, how long WHAT has been running and the last line of the newest
# log matching LOG_GLOB; stops when SHELL_PID is gone (the caller died).
progress_beat() {
	local what=$1 glob=$2 every=${PROGRESS_SECS:-15} t0 now next log last
	[[ $every =~ ^[1-9][0-9]{0,5}$ ]] || every=15
	t0=$(date +%s)
	next=$((t0 + every))
	while kill -0 "$3" 2>/dev/null; do
		sleep 1
		now=$(date +%s)
		[ "$now" -ge "$next" ] || continue
		next=$((now + every))
		last=
		if [ -n "$glob" ] && log=$(progress_newest "$glob") && [ -n "$log" ]; then
			last=$(tail -n 1 -- "$log" 2>/dev/null | tr -cd '[:print:]' | cut -c1-100)
		fi
		printf '[%(%H:%M:%S)T] %s: running for %ss%s\n' -1 "$what" "$((now - t0))" \
			"${last:+, last: $last}" >&2
	done
}

# progress_run WHAT LOG_GLOB CMD...: runs CMD with its output (stdout and
# stderr) on stderr, each line timestamped, and a heartbeat meanwhile
# (progress_beat). Returns CMD's exit status.
progress_run() {
	local what=$1 glob=$2 beat rc=0
	shift 2
	progress_beat "$what" "$glob" "$$" &
	beat=$!
	"$@" 2>&1 | progress_stamp >&2 || rc=${PIPESTATUS[0]}
	kill "$beat" 2>/dev/null || true
	wait "$beat" 2>/dev/null || true   # killed: 143
	return "$rc"
}
