#!/bin/bash
# quickstart.sh - from a fresh Debian 12 machine (as root) to a running
# sandbox-fcgi on http://127.0.0.1:8080/api/sandbox/ :
#   installs the Debian packages, builds with autotools, installs the
#   programs (make install-exec), prepares the default RootFS, creates the
#   service user and its cgroups, starts the responder pool (spawn-fcgi +
#   multiwatch) and our own nginx instance (the system nginx configuration
#   is not touched), waits for /api/sandbox/health.
# Idempotent: run it again to rebuild and restart what changed.
#
#   scripts/quickstart.sh          start (SANDBOX_PORT=N to change the port)
#   scripts/quickstart.sh stop     stop what it started
#   scripts/quickstart.sh --templates "minimal compilers"
#                                  RootFS templates to build (default
#                                  $SANDBOX_TEMPLATES, else the default
#                                  template minimal; see rootfs/)
#
# Nothing the service runs or opens stays in the checkout, which may sit in
# a directory the service user cannot enter (/root is 0700): the programs
# go to configure's prefix (SANDBOX_PREFIX, default configure's own,
# /usr/local), the state (pid files, socket, logs, nginx prefix) to
# /run/sandbox-fcgi-quickstart (SANDBOX_STATE_DIR). Other settings:
# scripts/lib/service-common.sh.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$REPO/scripts/lib/service-common.sh"
. "$REPO/scripts/lib/progress.sh"
svc_defaults

PACKAGES="build-essential autoconf automake libtool pkg-config libfcgi-dev
libjansson-dev libseccomp-dev libcap-dev libcurl4-openssl-dev libssl-dev check
nginx-light spawn-fcgi multiwatch debootstrap curl ca-certificates"

install_packages() {
	local missing="" p
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	svc_log "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
	# The nginx package starts the system nginx; we leave it as it is and run
	# our own instance (own prefix, own port).
}

BUILD=$REPO/_build

# A variable of the configured build (prefix, bindir, ...), as make
# expands it. The last line: make may first regenerate a stale Makefile.
build_var() { # NAME
	# shellcheck disable=SC2016  # make's $(...), not the shell's
	printf 'qs-print-var:\n\t@echo $(%s)\n' "$1" |
		make -s --no-print-directory -C "$BUILD" -f Makefile -f - qs-print-var | tail -n 1
}

# Where make install puts program NAME: the directory variable of whichever
# *_PROGRAMS list holds it (bin, sbin, libexec), so a move in the Makefile
# needs no change here.
installed_program() { # NAME
	# shellcheck disable=SC2016  # make's $(...), not the shell's
	printf 'qs-where:\n\t@$(foreach d,bin sbin libexec pkglibexec,$(if $(filter %%/%s$(EXEEXT),$($(d)_PROGRAMS)),echo $($(d)dir)/%s$(EXEEXT);))\n' "$1" "$1" |
		make -s --no-print-directory -C "$BUILD" -f Makefile -f - qs-where | tail -n 1
}

# Out of tree, in _build/: an in-tree ./configure would stop every other
# out-of-tree build of this checkout ("source directory already configured").
# Configured again when SANDBOX_PREFIX names another prefix or
# SANDBOX_ROOTFS_BASE another RootFS base: the installed sandbox-run and
# sandbox-fcgi default to the one quickstart uses (--with-rootfs-base).
build() {
	cd "$REPO"
	[ -x configure ] || autoreconf -fi
	mkdir -p "$BUILD"
	if [ ! -f "$BUILD/Makefile" ] ||
		{ [ -n "${SANDBOX_PREFIX:-}" ] && [ "$(build_var prefix)" != "$SANDBOX_PREFIX" ]; } ||
		[ "$(build_var rootfsbasedir)" != "$SANDBOX_ROOTFS_BASE" ]; then
		(cd "$BUILD" && ../configure ${SANDBOX_PREFIX:+--prefix="$SANDBOX_PREFIX"} \
			--with-rootfs-base="$SANDBOX_ROOTFS_BASE")
	fi
	make -C "$BUILD" -j"$(nproc)"
}

# The pool runs as the service user, which cannot run a binary inside a
# private checkout: it runs the installed one. install(1) replaces a file
# (new inode), so a responder still running keeps its old binary.
install_programs() {
	make -C "$BUILD" install-exec
	SANDBOX_BIN=$(installed_program sandbox-fcgi)
	[ -n "$SANDBOX_BIN" ] && [ -x "$SANDBOX_BIN" ] ||
		svc_die "make install-exec did not install sandbox-fcgi"
	export SANDBOX_BIN
	# The callback deliverer, started only when callbacks are asked for
	# (SANDBOX_CALLBACK_ALLOW; docs/OPERATIONS.md, "Quick start").
	SANDBOX_CALLBACKS_BIN=$(installed_program sandbox-callbacks)
	[ -n "$SANDBOX_CALLBACKS_BIN" ] && [ -x "$SANDBOX_CALLBACKS_BIN" ] ||
		svc_die "make install-exec did not install sandbox-callbacks"
	export SANDBOX_CALLBACKS_BIN
}

# The RootFS templates with a recipe in rootfs/ (common/ is shared, not one).
available_templates() {
	local d
	for d in "$REPO"/rootfs/*/; do
		d=$(basename "$d")
		if [ -f "$REPO/rootfs/$d/packages" ] && [ -f "$REPO/rootfs/$d/runtimes.json.in" ]; then
			printf '%s ' "$d"
		fi
	done
}

# SANDBOX_TEMPLATES (or --templates): the templates to build; the default
# template (SANDBOX_TEMPLATE, what a request without "template" gets) is
# always one of them, first. Each must have a recipe.
choose_templates() {
	local t list=$SANDBOX_TEMPLATE avail
	avail=" $(available_templates)"
	for t in ${SANDBOX_TEMPLATES:-}; do
		[[ $avail == *" $t "* ]] ||
			svc_die "no RootFS recipe '$t' (SANDBOX_TEMPLATES / --templates); available:$avail"
		[[ " $list " == *" $t "* ]] || list="$list $t"
	done
	SANDBOX_TEMPLATES=$list
}

# The RootFS templates (docs/OPERATIONS.md, "RootFS"): Debian trees built by
# build-rootfs.sh and checked by verify-rootfs.sh. The build is a no-op
# when the recipe did not change; a first one takes minutes (debootstrap,
# apt, into the staging directory's build.log): every line is timestamped
# and every 15 s a line says how long it has run and the log's last line.
prepare_rootfs() {
	local t
	svc_log "RootFS templates: $SANDBOX_TEMPLATES (into $SANDBOX_ROOTFS_BASE)"
	for t in $SANDBOX_TEMPLATES; do
		progress_run "quickstart: building $t" "$SANDBOX_ROOTFS_BASE/$t/.build-*/build.log" \
			"$REPO/scripts/build-rootfs.sh" "$t" "$SANDBOX_ROOTFS_BASE" ||
			svc_die "building the RootFS template $t failed (see above)"
		progress_run "quickstart: verifying $t" "" env SANDBOX_RUN="$BUILD/src/cli/sandbox-run" \
			"$REPO/scripts/verify-rootfs.sh" "$t" "$SANDBOX_ROOTFS_BASE" ||
			svc_die "the RootFS template $t failed its checks (see above)"
	done
}

# The closing message's template lines: what is there, and the command
# that adds the others (the responders see a new template on their next
# request; no restart).
print_templates() {
	local t others=""
	for t in $(available_templates); do
		[[ " $SANDBOX_TEMPLATES " == *" $t "* ]] || others="$others $t"
	done
	echo "RootFS templates: $SANDBOX_TEMPLATES (default: $SANDBOX_TEMPLATE; a request picks one with \"template\")"
	[ -n "$others" ] || return 0
	echo "Not built:$others. Add them later (minutes each; the running service"
	echo "sees them at once) with, e.g.:"
	echo "  SANDBOX_TEMPLATES=\"$SANDBOX_TEMPLATES$others\" $0"
}

print_example() {
	cat <<EXAMPLE

sandbox-fcgi is running: $(svc_url)/api/sandbox/  (pool of $SANDBOX_POOL responders)
Try:

  curl -s $(svc_url)/api/sandbox/run \\
       -H 'Content-Type: application/json' \\
       -d '{"runtime": "python", "code": "print(6 * 7)"}'

Stop it with: $0 stop     Logs: $SANDBOX_STATE_DIR/logs/
Programs: $SANDBOX_BIN and sandbox-run in $(build_var bindir)/ (make install-exec of $BUILD)
$(print_templates)
$(print_callbacks)
EXAMPLE
}

print_callbacks() {
	if ! svc_callbacks_on; then
		echo "Callbacks of asynchronous runs: off (SANDBOX_CALLBACK_ALLOW=\"HOST:PORT ...\" turns them on)"
		return 0
	fi
	echo "Callbacks of asynchronous runs: on, to $SANDBOX_CALLBACK_ALLOW"
	echo "  signed with the key in $SANDBOX_CALLBACK_SECRET_FILE; deliverer log:"
	echo "  $SANDBOX_STATE_DIR/logs/sandbox-callbacks.log"
}

# Older versions kept the state in _run/ of the checkout; an instance
# started from there is not the one `stop` finds now.
warn_old_state_dir() {
	[ -f "$REPO/_run/pool.pid" ] || [ -f "$REPO/_run/nginx/run/nginx.pid" ] || return 0
	[ "$REPO/_run" != "$SANDBOX_STATE_DIR" ] || return 0
	svc_log "warning: $REPO/_run holds the state of an instance started by an older quickstart.sh;"
	svc_log "stop it with: SANDBOX_STATE_DIR=$REPO/_run $0 stop"
}

main() {
	while [ $# -gt 0 ]; do
		case $1 in
		--templates) [ $# -ge 2 ] || svc_die "--templates wants a list, e.g. \"minimal compilers\""
			SANDBOX_TEMPLATES=$2; shift 2 ;;
		--templates=*) SANDBOX_TEMPLATES=${1#*=}; shift ;;
		*) break ;;
		esac
	done
	[ "$(id -u)" = 0 ] || svc_die "run as root"
	warn_old_state_dir
	if [ "${1:-start}" = stop ]; then
		"$REPO/scripts/lib/service-ctl.sh" stop
		return
	fi
	[ "${1:-start}" = start ] && [ $# -le 1 ] ||
		svc_die "usage: $0 [--templates \"minimal compilers ...\"] [start|stop]"
	choose_templates
	grep -qs 'VERSION_ID="12"' /etc/os-release || svc_log "warning: not Debian 12; continuing"
	install_packages
	build
	install_programs
	prepare_rootfs
	# Restart the pool so that a rebuilt responder is the one running.
	"$REPO/scripts/lib/service-ctl.sh" stop-pool
	"$REPO/scripts/lib/service-ctl.sh" start
	print_example
}

main "$@"
