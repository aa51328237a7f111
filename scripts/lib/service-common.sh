# service-common.sh - shell helpers to run sandbox-fcgi: the service user,
# cgroup delegation, the responder pool (spawn-fcgi + multiwatch) and our own
# nginx instance. Sourced by scripts/quickstart.sh, scripts/lib/service-ctl.sh
# and the integration tests; every setting comes from SANDBOX_* variables
# (see svc_defaults). Needs bash.

svc_log() { printf 'sandbox-fcgi: %s\n' "$*" >&2; }
svc_die() { svc_log "error: $*"; exit 1; }

svc_defaults() {
	local repo
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	: "${SANDBOX_REPO:=$repo}"
	# Not in the checkout: the service user and nginx's workers must reach
	# the socket, and a checkout may sit in a private directory (/root is
	# 0700). /run is a tmpfs, so no pid file outlives a reboot to name an
	# unrelated process.
	: "${SANDBOX_STATE_DIR:=/run/sandbox-fcgi-quickstart}"
	: "${SANDBOX_LISTEN_ADDR:=127.0.0.1}"
	: "${SANDBOX_PORT:=8080}"
	: "${SANDBOX_POOL:=$(nproc)}"
	svc_queue_defaults
	: "${SANDBOX_USER:=sandbox}"
	: "${SANDBOX_NGINX_USER:=www-data}"
	: "${SANDBOX_BIN:=$SANDBOX_REPO/_build/src/fcgi/sandbox-fcgi}"
	: "${SANDBOX_ROOTFS_BASE:=/var/lib/sandbox-fcgi/rootfs}"
	: "${SANDBOX_TEMPLATE:=minimal}"
	: "${SANDBOX_CGROUP:=sandbox-fcgi}"
	: "${SANDBOX_RESPONDER_MEMORY_MB:=128}"
	: "${SANDBOX_RATE:=10r/s}"
	# One client may fill the whole queue in one burst (docs/OPERATIONS.md,
	# "Overload"); lower both to share the queue between clients.
	: "${SANDBOX_BURST:=$((SANDBOX_POOL + SANDBOX_QUEUE))}"
	: "${SANDBOX_CONN_PER_IP:=$((SANDBOX_POOL + SANDBOX_QUEUE))}"
	: "${SANDBOX_KEYS_FILE:=}"
	: "${SANDBOX_SOCKET:=$SANDBOX_STATE_DIR/fcgi.sock}"
	# Durable state (sandbox-fcgi --state-dir: sessions, asynchronous runs,
	# callbacks): the service user's, 0700.
	: "${SANDBOX_DATA_DIR:=$SANDBOX_STATE_DIR/state}"
	: "${SANDBOX_NGINX_PREFIX:=$SANDBOX_STATE_DIR/nginx}"
	# Callbacks of asynchronous runs (docs/OPERATIONS.md, "Callbacks"): off
	# unless SANDBOX_CALLBACK_ALLOW lists receivers (HOST[:PORT] ...); then
	# the responders get the list and sandbox-callbacks runs beside the
	# pool, signing with SANDBOX_CALLBACK_SECRET_FILE (made here if it is
	# the default and missing).
	: "${SANDBOX_CALLBACK_ALLOW:=}"
	: "${SANDBOX_CALLBACK_SECRET_FILE:=$SANDBOX_STATE_DIR/callback.secret}"
	: "${SANDBOX_CALLBACKS_ARGS:=}"
	: "${SANDBOX_CALLBACKS_BIN:=$(svc_callbacks_bin)}"
}

# The deliverer beside the responder: installed programs share sbin; a
# build tree has it in src/callback next to src/fcgi.
svc_callbacks_bin() {
	local d
	d=$(dirname "$SANDBOX_BIN")
	if [ -x "$d/sandbox-callbacks" ]; then
		printf '%s\n' "$d/sandbox-callbacks"
	else
		printf '%s\n' "$d/../callback/sandbox-callbacks"
	fi
}

# The queue is bounded by waiting time, not by a count: a request that a
# responder accepts more than the queue timeout after nginx handed it over
# gets 503 without running. nginx's cap (pool + queue) only refuses at once
# what would certainly wait that long: queue = pool x timeout / typical run
# (SANDBOX_RUN_MS), rounded up. A --queue-timeout-ms in SANDBOX_FCGI_ARGS
# is the timeout the responders use, so it is the one the queue is sized by.
svc_queue_defaults() {
	local re='--queue-timeout-ms[= ]+([0-9]+)'
	: "${SANDBOX_FCGI_ARGS:=}"
	if [[ $SANDBOX_FCGI_ARGS =~ $re ]]; then
		SANDBOX_QUEUE_TIMEOUT_MS=${BASH_REMATCH[1]}
	fi
	: "${SANDBOX_QUEUE_TIMEOUT_MS:=10000}"
	: "${SANDBOX_RUN_MS:=100}"
	[[ $SANDBOX_QUEUE_TIMEOUT_MS =~ ^[0-9]{1,9}$ ]] ||
		svc_die "SANDBOX_QUEUE_TIMEOUT_MS must be a number of milliseconds"
	[[ $SANDBOX_RUN_MS =~ ^[1-9][0-9]{0,8}$ ]] ||
		svc_die "SANDBOX_RUN_MS must be a positive number of milliseconds"
	: "${SANDBOX_QUEUE:=$(( (SANDBOX_POOL * SANDBOX_QUEUE_TIMEOUT_MS + SANDBOX_RUN_MS - 1) / SANDBOX_RUN_MS ))}"
}

# nginx's pool cap and the socket's backlog are both pool + queue: nginx
# never meets a full backlog (a 502 instead of a 503). The kernel silently
# clamps a listen backlog to net.core.somaxconn, so refuse a larger one.
svc_check_queue() {
	local cap=$((SANDBOX_POOL + SANDBOX_QUEUE)) max
	max=$(cat /proc/sys/net/core/somaxconn 2>/dev/null || echo 4096)
	[ "$cap" -le "$max" ] && return 0
	svc_log "pool + queue ($SANDBOX_POOL + $SANDBOX_QUEUE) exceeds net.core.somaxconn ($max):" \
		"raise it (sysctl net.core.somaxconn=$cap) or lower SANDBOX_QUEUE"
	return 1
}

# --- service user -----------------------------------------------------------

svc_ensure_user() {
	if ! getent group "$SANDBOX_USER" >/dev/null; then
		groupadd --system "$SANDBOX_USER" || return 1
	fi
	if ! getent passwd "$SANDBOX_USER" >/dev/null; then
		useradd --system --gid "$SANDBOX_USER" --home-dir /nonexistent \
			--no-create-home --shell /usr/sbin/nologin "$SANDBOX_USER" || return 1
	fi
}

# --- cgroups ----------------------------------------------------------------

svc_cgroup_mode() {
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo v2
	elif [ -d /sys/fs/cgroup/memory ]; then echo v1
	else echo none; fi
}

# v1: a directory named $SANDBOX_CGROUP under each controller the jail uses,
# owned by the service user so that it can make per-run child cgroups there.
# v2: a delegated subtree $SANDBOX_CGROUP with a leaf "pool" the responders
# are started in (v2 moves need write access to the common ancestor). The
# jail, given --cgroup $d, enables its controllers on $d (which holds no
# process itself), makes an empty "supervisor" leaf there and a leaf
# jail-<pid>-<n> per run (docs/SECURITY.md, cgroups).
svc_cgroup_delegate() {
	local c d
	case "$(svc_cgroup_mode)" in
	v1)
		for c in memory pids cpuacct cpu,cpuacct; do
			d=/sys/fs/cgroup/$c
			[ -d "$d" ] && [ ! -L "$d" ] || continue
			mkdir -p "$d/$SANDBOX_CGROUP" || return 1
			chown -R "$SANDBOX_USER:$SANDBOX_USER" "$d/$SANDBOX_CGROUP" || return 1
		done
		SANDBOX_CGROUP_ARG=$SANDBOX_CGROUP
		svc_cgroup_pool_cap_v1 || return 1 ;;
	v2)
		d=/sys/fs/cgroup/$SANDBOX_CGROUP
		mkdir -p "$d/pool" || return 1
		echo "+memory +pids +cpu" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
		chown "$SANDBOX_USER:$SANDBOX_USER" "$d" "$d/cgroup.procs" \
			"$d/cgroup.subtree_control" "$d/cgroup.threads" "$d/pool" \
			"$d/pool/cgroup.procs" "$d/pool/cgroup.threads" || return 1
		SANDBOX_CGROUP_ARG=$d
		SANDBOX_CGROUP_PROCS=$d/pool/cgroup.procs
		svc_cgroup_pool_cap_v2 "$d" || return 1 ;;
	*)
		SANDBOX_CGROUP_ARG= ;;
	esac
}

# The responders' own memory cap (docs/OPERATIONS.md, "Responder memory"):
# SANDBOX_RESPONDER_MEMORY_MB per responder, for the pool's cgroup as a
# whole, swap included, so that one responder gone wrong is OOM-killed
# (and replaced by multiwatch) instead of taking the host's memory. Runs
# are not in it: each has its own cgroup beside the pool. The limit files
# stay root's: the service user cannot raise its own cap.
svc_pool_memory_bytes() {
	echo $(( SANDBOX_POOL * SANDBOX_RESPONDER_MEMORY_MB * 1024 * 1024 ))
}

# v1: memory/$SANDBOX_CGROUP/pool, made after the chown above so that its
# files stay root's; the jail leaves it alone (its runs are <pid>-<n>).
svc_cgroup_pool_cap_v1() {
	local d=/sys/fs/cgroup/memory/$SANDBOX_CGROUP/pool
	[ -d /sys/fs/cgroup/memory ] && [ ! -L /sys/fs/cgroup/memory ] || return 0
	mkdir -p "$d" || return 1
	# Again root's, should an earlier call's chown -R have given it away.
	chown -R 0:0 "$d" || return 1
	echo "$(svc_pool_memory_bytes)" > "$d/memory.limit_in_bytes" || return 1
	if [ -f "$d/memory.memsw.limit_in_bytes" ]; then
		echo "$(svc_pool_memory_bytes)" > "$d/memory.memsw.limit_in_bytes" || return 1
	fi
	SANDBOX_CGROUP_PROCS=$d/cgroup.procs
}

# v2: the "pool" leaf gets memory.max; its parent must have +memory in its
# subtree_control first (the jail enables it again at start, harmlessly).
svc_cgroup_pool_cap_v2() {
	local d=$1
	grep -qw memory "$d/cgroup.controllers" || { svc_log "no memory controller in $d"; return 1; }
	echo "+memory" > "$d/cgroup.subtree_control" || return 1
	echo "$(svc_pool_memory_bytes)" > "$d/pool/memory.max" || return 1
	if [ -f "$d/pool/memory.swap.max" ]; then
		echo 0 > "$d/pool/memory.swap.max" || return 1
	fi
}

# Removes the delegated directories once the pool is gone (rmdir only: a
# cgroup that still has processes stays, and says so).
svc_cgroup_undelegate() {
	local c d
	case "$(svc_cgroup_mode)" in
	v1) for c in memory pids cpuacct cpu,cpuacct; do
		d=/sys/fs/cgroup/$c/$SANDBOX_CGROUP
		[ -d "$d" ] && [ ! -L "/sys/fs/cgroup/$c" ] || continue
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null ||
			svc_log "cgroup $d still in use"
	    done ;;
	v2) d=/sys/fs/cgroup/$SANDBOX_CGROUP
		[ -d "$d" ] && { find "$d" -depth -type d -exec rmdir {} + 2>/dev/null ||
			svc_log "cgroup $d still in use"; } ;;
	esac
	return 0
}

# Child cgroups left under the delegated directory (there should be none
# once every run has finished). Prints one path per line.
svc_cgroup_leftovers() {
	local c
	case "$(svc_cgroup_mode)" in
	v1) for c in memory pids cpuacct; do
		[ -d "/sys/fs/cgroup/$c/$SANDBOX_CGROUP" ] &&
			find "/sys/fs/cgroup/$c/$SANDBOX_CGROUP" -mindepth 1 -type d ! -name pool
	    done ;;
	v2) find "/sys/fs/cgroup/$SANDBOX_CGROUP" -mindepth 1 -type d ! -name pool ! -name supervisor ;;
	esac
	return 0
}

# --- the responder pool -----------------------------------------------------

svc_pidfile_alive() {
	local pid
	[ -f "$1" ] || return 1
	pid=$(cat "$1") || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# Runs `test OP PATH` as USER with its own groups: what a responder
# (spawn-fcgi -u) or an nginx worker (initgroups) may do with PATH.
svc_test_as() { # USER OP PATH
	setpriv --reuid="$1" --regid="$1" --init-groups -- test "$2" "$3"
}

# The first directory above PATH that USER cannot enter (search
# permission), if any.
svc_blocking_dir() { # USER PATH
	local d=$2 dirs=() i
	while d=$(dirname "$d"); do
		dirs=("$d" "${dirs[@]}")
		[ "$d" != / ] && [ "$d" != . ] || break
	done
	for i in "${dirs[@]}"; do
		svc_test_as "$1" -x "$i" || { printf '%s\n' "$i"; return 0; }
	done
	return 1
}

# Checks that USER may OP (-x, -r, ...) PATH; otherwise says which
# directory or file stops it and what to do, so that a start does not end
# in a bare "Exec failed: Permission denied" in a log.
svc_check_access() { # USER OP PATH WHAT HINT
	local dir
	svc_test_as "$1" "$2" "$3" && return 0
	if dir=$(svc_blocking_dir "$1" "$3"); then
		svc_log "user $1 cannot reach $4 $3: it may not enter $dir ($(stat -c '%A %U:%G' "$dir"))"
	else
		svc_log "user $1 cannot use $4 $3 ($(stat -c '%A %U:%G' "$3" 2>/dev/null || echo missing))"
	fi
	svc_log "$5"
	return 1
}

# What the pool's user needs: the responder binary and the RootFS base.
svc_check_pool_access() {
	svc_check_access "$SANDBOX_USER" -x "$SANDBOX_BIN" "the responder" \
		"install it where $SANDBOX_USER can run it and set SANDBOX_BIN (scripts/quickstart.sh does: make install-exec, into SANDBOX_PREFIX), or let $SANDBOX_USER enter that directory" &&
	svc_check_access "$SANDBOX_USER" -x "$SANDBOX_ROOTFS_BASE" "the RootFS base" \
		"set SANDBOX_ROOTFS_BASE to a directory $SANDBOX_USER can enter"
}

# What nginx's workers need: the directory of the pool's socket.
svc_check_nginx_access() {
	svc_check_access "$SANDBOX_NGINX_USER" -x "$(dirname "$SANDBOX_SOCKET")" "the socket directory" \
		"set SANDBOX_STATE_DIR to a directory $SANDBOX_NGINX_USER can enter (the default, under /run, is one)"
}

svc_prepare_state() {
	mkdir -p "$SANDBOX_STATE_DIR" "$SANDBOX_STATE_DIR/logs" || return 1
	# nginx workers (www-data) and the responders must reach the socket.
	chmod 0755 "$SANDBOX_STATE_DIR" || return 1
	# The pool's shared metrics file (sandbox-fcgi --metrics-file): made
	# here for the service user, who cannot create files in this directory.
	# Kept across restarts: the counters are cumulative.
	# Session state (sandbox-fcgi --state-dir): the service user's alone;
	# kept across restarts of the pool (sessions survive them).
	install -d -m 0700 -o "$SANDBOX_USER" -g "$SANDBOX_USER" "$SANDBOX_DATA_DIR" || return 1
	if [ -L "$SANDBOX_STATE_DIR/metrics" ] || [ ! -f "$SANDBOX_STATE_DIR/metrics" ]; then
		rm -f "$SANDBOX_STATE_DIR/metrics" &&
		install -m 0600 -o "$SANDBOX_USER" -g "$SANDBOX_USER" /dev/null \
			"$SANDBOX_STATE_DIR/metrics" || return 1
	fi
	# The responders' durable state (--state-dir: asynchronous runs), the
	# service user's own: kept across pool restarts like the metrics.
	install -d -m 0700 -o "$SANDBOX_USER" -g "$SANDBOX_USER" "$SANDBOX_STATE_DIR/state" || return 1
}

# spawn-fcgi binds the socket (backlog = pool + queue), drops to the service
# user and execs multiwatch, which forks N responders on that socket and
# replaces any that dies. -n keeps stderr (the JSON log) instead of
# /dev/null; setsid detaches the pool from the caller's session.
svc_start_pool() {
	local pidf=$SANDBOX_STATE_DIR/pool.pid backlog pid i a cb=()
	if svc_pidfile_alive "$pidf"; then
		svc_log "pool already running (pid $(cat "$pidf"))"
		svc_start_callbacks
		return
	fi
	[ -x "$SANDBOX_BIN" ] || { svc_log "no responder binary at $SANDBOX_BIN"; return 1; }
	svc_prepare_state || return 1
	svc_check_queue || return 1
	backlog=$((SANDBOX_QUEUE + SANDBOX_POOL))
	# The responders check callback_url against the allowlist (they never
	# connect anywhere nor read the secret).
	for a in $SANDBOX_CALLBACK_ALLOW; do cb+=(--callback-allow "$a"); done
	# The subshell moves itself into the pool's cgroup (v2: the delegated
	# leaf; v1: the memory-capped one) and then becomes the pool, so that
	# every responder starts inside it.
	# shellcheck disable=SC2086  # SANDBOX_FCGI_ARGS is a list of flags
	( if [ -n "${SANDBOX_CGROUP_PROCS:-}" ]; then echo "$BASHPID" > "$SANDBOX_CGROUP_PROCS"; fi
	exec setsid spawn-fcgi -n -s "$SANDBOX_SOCKET" -b "$backlog" -M 0660 \
		-U "$SANDBOX_USER" -G "$SANDBOX_NGINX_USER" \
		-u "$SANDBOX_USER" -g "$SANDBOX_USER" -- \
		/usr/bin/multiwatch -f "$SANDBOX_POOL" -r 10 -- \
		"$SANDBOX_BIN" --rootfs-base "$SANDBOX_ROOTFS_BASE" \
		--template "$SANDBOX_TEMPLATE" --pool-size "$SANDBOX_POOL" \
		--queue-timeout-ms "$SANDBOX_QUEUE_TIMEOUT_MS" \
		--metrics-file "$SANDBOX_STATE_DIR/metrics" \
		--state-dir "$SANDBOX_DATA_DIR" \
		${SANDBOX_CGROUP_ARG:+--cgroup "$SANDBOX_CGROUP_ARG"} $SANDBOX_FCGI_ARGS "${cb[@]}" \
		</dev/null >>"$SANDBOX_STATE_DIR/logs/sandbox-fcgi.log" 2>&1 ) &
	pid=$!
	echo "$pid" > "$pidf"
	for i in $(seq 50); do
		if [ -S "$SANDBOX_SOCKET" ] && [ "$(svc_pool_size)" -ge "$SANDBOX_POOL" ]; then
			svc_start_callbacks
			return
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	svc_log "pool did not start; see $SANDBOX_STATE_DIR/logs/sandbox-fcgi.log"
	return 1
}

# The multiwatch process (pool.pid) and its children, the responders.
svc_responder_pids() {
	local pid
	svc_pidfile_alive "$SANDBOX_STATE_DIR/pool.pid" || return 0
	pid=$(cat "$SANDBOX_STATE_DIR/pool.pid")
	pgrep -P "$pid" || true
}

svc_pool_size() {
	svc_responder_pids | wc -l
}

svc_wait_gone() {
	local pid=$1 i
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}

svc_stop_pool() {
	local pidf=$SANDBOX_STATE_DIR/pool.pid pid
	svc_stop_callbacks
	if svc_pidfile_alive "$pidf"; then
		pid=$(cat "$pidf")
		# multiwatch forwards SIGTERM to the responders and waits for them.
		kill -TERM "$pid"
		svc_wait_gone "$pid" || { svc_log "pool did not stop; killing"; kill -KILL "$pid"; }
	fi
	rm -f "$pidf" "$SANDBOX_SOCKET"
}

# --- the callback deliverer -------------------------------------------------

svc_callbacks_on() {
	[ -n "${SANDBOX_CALLBACK_ALLOW//[[:space:]]/}" ]
}

# The HMAC key: the operator's file as it is, or (the default path) one
# made here once and kept, since receivers are configured with it. The
# deliverer wants it the service user's (or root's) and 0600; running as
# that user, it must be the user's. The responders run as the same user
# and could read it: under systemd they cannot (sandbox-fcgi.service's
# InaccessiblePaths); here, for a development instance, they can.
svc_callback_secret() {
	local f=$SANDBOX_CALLBACK_SECRET_FILE
	if [ ! -e "$f" ] && [ "$f" = "$SANDBOX_STATE_DIR/callback.secret" ]; then
		install -m 0600 -o "$SANDBOX_USER" -g "$SANDBOX_USER" /dev/null "$f.tmp" &&
			head -c 32 /dev/urandom | base64 > "$f.tmp" && mv -f "$f.tmp" "$f" || return 1
		svc_log "made the callback secret $f (receivers verify X-Sandbox-Signature with it)"
	fi
	svc_check_access "$SANDBOX_USER" -r "$f" "the callback secret" \
		"make it $SANDBOX_USER's with mode 0600 (chown $SANDBOX_USER: $f; chmod 600 $f), or unset SANDBOX_CALLBACK_SECRET_FILE to have one made"
}

# sandbox-callbacks as the service user on the host's network, with the
# pool's state directory and allowlist; started after the pool, stopped
# with it. Nothing when callbacks are off (the default).
svc_start_callbacks() {
	local pidf=$SANDBOX_STATE_DIR/callbacks.pid log=$SANDBOX_STATE_DIR/logs/sandbox-callbacks.log
	local a args=() pid i
	svc_callbacks_on || return 0
	if svc_pidfile_alive "$pidf"; then
		svc_log "callback deliverer already running (pid $(cat "$pidf"))"
		return 0
	fi
	svc_check_access "$SANDBOX_USER" -x "$SANDBOX_CALLBACKS_BIN" "the callback deliverer" \
		"set SANDBOX_CALLBACKS_BIN to an installed sandbox-callbacks (make install-exec puts it beside sandbox-fcgi)" ||
		return 1
	svc_callback_secret || return 1
	for a in $SANDBOX_CALLBACK_ALLOW; do args+=(--callback-allow "$a"); done
	# shellcheck disable=SC2086  # SANDBOX_CALLBACKS_ARGS is a list of flags
	( exec setsid setpriv --reuid="$SANDBOX_USER" --regid="$SANDBOX_USER" --init-groups \
		--no-new-privs -- "$SANDBOX_CALLBACKS_BIN" --state-dir "$SANDBOX_DATA_DIR" \
		"${args[@]}" --callback-secret-file "$SANDBOX_CALLBACK_SECRET_FILE" \
		$SANDBOX_CALLBACKS_ARGS </dev/null >>"$log" 2>&1 ) &
	pid=$!
	echo "$pid" > "$pidf"
	# A bad secret file, flag or state directory ends it at once (exit 1).
	for i in $(seq 5); do
		sleep 0.1
		kill -0 "$pid" 2>/dev/null && continue
		rm -f "$pidf"
		svc_log "the callback deliverer did not start; see $log:"
		tail -n 3 "$log" >&2
		return 1
	done
	svc_log "callbacks on: sandbox-callbacks (pid $pid) delivers to: $SANDBOX_CALLBACK_ALLOW"
}

svc_stop_callbacks() {
	local pidf=$SANDBOX_STATE_DIR/callbacks.pid pid
	if svc_pidfile_alive "$pidf"; then
		pid=$(cat "$pidf")
		# SIGTERM ends its wait at once, an attempt in flight within
		# --callback-timeout-ms (5 s by default).
		kill -TERM "$pid"
		svc_wait_gone "$pid" || svc_wait_gone "$pid" ||
			{ svc_log "callback deliverer did not stop; killing"; kill -KILL "$pid"; }
	fi
	rm -f "$pidf"
}

# --- nginx ------------------------------------------------------------------

# Key file: one key per line, '#' comments. Keys are restricted to
# [A-Za-z0-9_-] so that they can sit in a regex and a quoted nginx string;
# the regex keeps the comparison case-sensitive (plain map keys are not).
svc_render_keys() {
	local out=$1 key
	if [ -z "$SANDBOX_KEYS_FILE" ]; then
		printf '# API keys disabled (no SANDBOX_KEYS_FILE).\ndefault 1;\n' > "$out"
		return 0
	fi
	[ -r "$SANDBOX_KEYS_FILE" ] || { svc_log "cannot read $SANDBOX_KEYS_FILE"; return 1; }
	{
		printf '# Generated from %s; do not edit.\ndefault 0;\n' "$SANDBOX_KEYS_FILE"
		while IFS= read -r key || [ -n "$key" ]; do
			key=${key%%#*}
			key=$(printf '%s' "$key" | tr -d ' \t\r')
			[ -n "$key" ] || continue
			if ! [[ $key =~ ^[A-Za-z0-9_-]{16,256}$ ]]; then
				svc_log "invalid API key in $SANDBOX_KEYS_FILE (16-256 of [A-Za-z0-9_-])"
				return 1
			fi
			printf '"~^[Bb]earer +%s$" 1;\n' "$key"
		done < "$SANDBOX_KEYS_FILE"
	} > "$out"
	chmod 0600 "$out"
}

# Copies nginx/ into PREFIX/conf and replaces the shipped defaults (listen
# address, socket, pool+queue, rate) with this instance's values.
svc_render_nginx() {
	local p=$SANDBOX_NGINX_PREFIX src=$SANDBOX_REPO/nginx f
	mkdir -p "$p/conf/snippets" "$p/logs" "$p/run" "$p/tmp" || return 1
	cp "$src/sandbox-fcgi.conf" "$p/conf/nginx.conf" || return 1
	cp "$src/snippets/sandbox-http.conf" "$src/snippets/sandbox-location.conf" \
		"$p/conf/snippets/" || return 1
	svc_render_keys "$p/conf/snippets/sandbox-keys.conf" || return 1
	f=$p/conf
	sed -i -e "s|listen 127.0.0.1:8080;|listen $SANDBOX_LISTEN_ADDR:$SANDBOX_PORT;|" \
		-e "s|^user www-data www-data;|user $SANDBOX_NGINX_USER $SANDBOX_NGINX_USER;|" \
		"$f/nginx.conf" || return 1
	sed -i -e "s|server unix:/run/sandbox-fcgi/fcgi.sock;|server unix:$SANDBOX_SOCKET;|" \
		-e "s|rate=10r/s;|rate=$SANDBOX_RATE;|" "$f/snippets/sandbox-http.conf" || return 1
	sed -i -e "s|burst=202 nodelay;|burst=$SANDBOX_BURST nodelay;|" \
		-e "s|limit_conn sandbox_conn_ip 202;|limit_conn sandbox_conn_ip $SANDBOX_CONN_PER_IP;|" \
		-e "s|limit_conn sandbox_pool 202;|limit_conn sandbox_pool $((SANDBOX_POOL + SANDBOX_QUEUE));|" \
		"$f/snippets/sandbox-location.conf" || return 1
}

svc_nginx() {
	local p=$SANDBOX_NGINX_PREFIX
	nginx -p "$p/" -e "$p/logs/error.log" -c "$p/conf/nginx.conf" "$@"
}

svc_start_nginx() {
	local pidf=$SANDBOX_NGINX_PREFIX/run/nginx.pid
	if svc_pidfile_alive "$pidf"; then
		svc_log "nginx already running (pid $(cat "$pidf")); reloading its config"
		svc_render_nginx && svc_nginx -t -q && svc_nginx -s reload
		return
	fi
	svc_render_nginx || return 1
	svc_nginx -t -q || return 1
	svc_nginx
}

svc_stop_nginx() {
	local pidf=$SANDBOX_NGINX_PREFIX/run/nginx.pid pid
	svc_pidfile_alive "$pidf" || return 0
	pid=$(cat "$pidf")
	kill -QUIT "$pid"
	svc_wait_gone "$pid" || kill -TERM "$pid"
	svc_wait_gone "$pid" || true
}

svc_url() {
	printf 'http://%s:%s' "$SANDBOX_LISTEN_ADDR" "$SANDBOX_PORT"
}

svc_wait_health() {
	local timeout=${1:-30} i
	for i in $(seq $((timeout * 5))); do
		if curl -fsS -m 5 "$(svc_url)/api/sandbox/health" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	curl -sS -m 5 "$(svc_url)/api/sandbox/health" >&2 || true
	return 1
}
