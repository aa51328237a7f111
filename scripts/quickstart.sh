#!/bin/bash
# quickstart.sh - from a fresh Debian 12 machine (as root) to a running
# sandbox-fcgi on http://127.0.0.1:8080/api/sandbox/ :
#   installs the Debian packages, builds with autotools, prepares the default
#   RootFS, creates the service user and its cgroups, starts the responder
#   pool (spawn-fcgi + multiwatch) and our own nginx instance (the system
#   nginx configuration is not touched), waits for /api/sandbox/health.
# Idempotent: run it again to rebuild and restart what changed.
#
#   scripts/quickstart.sh          start (SANDBOX_PORT=N to change the port)
#   scripts/quickstart.sh stop     stop what it started
#
# State (pid files, sockets, logs, nginx prefix): _run/ in the repository
# (SANDBOX_STATE_DIR). Other settings: scripts/lib/service-common.sh.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$REPO/scripts/lib/service-common.sh"
svc_defaults

PACKAGES="build-essential autoconf automake libtool pkg-config libfcgi-dev
libjansson-dev libseccomp-dev libcap-dev check nginx-light spawn-fcgi
multiwatch debootstrap curl ca-certificates"

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

# Out of tree, in _build/: an in-tree ./configure would stop every other
# out-of-tree build of this checkout ("source directory already configured").
build() {
	cd "$REPO"
	[ -x configure ] || autoreconf -fi
	mkdir -p _build
	[ -f _build/Makefile ] || (cd _build && ../configure)
	make -C _build -j"$(nproc)"
}

# The default RootFS (see docs/ROOTFS.md): a Debian tree built by
# build-rootfs.sh and checked by verify-rootfs.sh. Both are no-ops when the
# recipe did not change. Fallback while they are missing: a RootFS made from
# the host's /usr (scripts/mkrootfs-host.sh).
prepare_rootfs() {
	if [ -x "$REPO/scripts/build-rootfs.sh" ]; then
		"$REPO/scripts/build-rootfs.sh" "$SANDBOX_TEMPLATE" "$SANDBOX_ROOTFS_BASE"
		if [ -x "$REPO/scripts/verify-rootfs.sh" ]; then
			SANDBOX_RUN=$REPO/_build/src/cli/sandbox-run \
				"$REPO/scripts/verify-rootfs.sh" "$SANDBOX_TEMPLATE" "$SANDBOX_ROOTFS_BASE"
		fi
	elif [ -x "$REPO/scripts/mkrootfs-host.sh" ]; then
		"$REPO/scripts/mkrootfs-host.sh" "$SANDBOX_ROOTFS_BASE"
	else
		svc_die "no RootFS builder (scripts/build-rootfs.sh or scripts/mkrootfs-host.sh)"
	fi
}

print_example() {
	cat <<EXAMPLE

sandbox-fcgi is running: $(svc_url)/api/sandbox/  (pool of $SANDBOX_POOL responders)
Try:

  curl -s $(svc_url)/api/sandbox/run \\
       -H 'Content-Type: application/json' \\
       -d '{"runtime": "python", "code": "print(6 * 7)"}'

Stop it with: $0 stop     Logs: $SANDBOX_STATE_DIR/logs/
EXAMPLE
}

main() {
	[ "$(id -u)" = 0 ] || svc_die "run as root"
	if [ "${1:-start}" = stop ]; then
		"$REPO/scripts/lib/service-ctl.sh" stop
		return
	fi
	[ "${1:-start}" = start ] || svc_die "usage: $0 [start|stop]"
	grep -qs 'VERSION_ID="12"' /etc/os-release || svc_log "warning: not Debian 12; continuing"
	install_packages
	build
	prepare_rootfs
	# Restart the pool so that a rebuilt responder is the one running.
	"$REPO/scripts/lib/service-ctl.sh" stop-pool
	"$REPO/scripts/lib/service-ctl.sh" start
	print_example
}

main "$@"
