#!/bin/bash
# tests/deb/run.sh - the Debian package, as an administrator gets it: built
# with dpkg-buildpackage from the release tarball (make dist) unpacked in a
# temporary directory (the checkout is not touched: dpkg-buildpackage writes
# ../*.deb), installed with apt on this machine, smoke-tested through the
# INSTALLED files only, then purged and checked for what it left behind.
# scripts/test.sh stage deb; needs root, a configured BUILD_DIR and a built
# `minimal` RootFS at the package's RootFS base.
#
#   tests/deb/run.sh BUILD_DIR
#
# SANDBOX_ROOTFS_BASE must be the package's /var/lib/sandbox-fcgi/rootfs
# (the default): the installed programs are checked with their defaults.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "${1:?usage: tests/deb/run.sh BUILD_DIR}" && pwd)
base=/var/lib/sandbox-fcgi/rootfs
pkg=sandbox-fcgi
export DEBIAN_FRONTEND=noninteractive PYTHONDONTWRITEBYTECODE=1

say() { printf '%s deb: %s\n' "$(date +%H:%M:%S)" "$*"; }
fail() { say "FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (apt, jails)"
[ "${SANDBOX_ROOTFS_BASE:-$base}" = "$base" ] ||
	fail "SANDBOX_ROOTFS_BASE=$SANDBOX_ROOTFS_BASE: the package's programs default to $base"
[ -d "$base/minimal/current/tree" ] || fail "no RootFS at $base/minimal/current/tree (stage rootfs)"

tmp=$(mktemp -d /tmp/sandbox-deb.XXXXXX)
installed_by_us=0
cleanup() {
	if [ "$installed_by_us" = 1 ] && dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q installed; then
		say "cleanup: purging $pkg"
		apt-get purge -y -q "$pkg" >/dev/null 2>&1 || dpkg --purge "$pkg" >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Never clobber an installation or files that are not ours to replace.
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q installed; then
	fail "$pkg is already installed here; purge it first (apt-get purge $pkg)"
fi
for f in /usr/sbin/sandbox-fcgi /usr/bin/sandbox-run /etc/nginx/snippets/sandbox-http.conf \
	/etc/nginx/snippets/sandbox-location.conf /etc/nginx/snippets/sandbox-keys.conf; do
	[ ! -e "$f" ] || fail "$f exists outside the package; move it away first"
done
rootfs_current=$(readlink "$base/minimal/current")
user_before=$(getent passwd sandbox || true)

# --- build ------------------------------------------------------------------
say "make dist in $build"
rm -f "$build"/sandbox-fcgi-*.tar.gz
make -s -C "$build" dist-gzip >/dev/null
tarball=$(ls "$build"/sandbox-fcgi-*.tar.gz)
tar -xzf "$tarball" -C "$tmp"
src=$(ls -d "$tmp"/sandbox-fcgi-*/)
say "dpkg-buildpackage -us -uc -b in $src"
(cd "$src" && DEB_BUILD_OPTIONS="parallel=2 ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1) ||
	{ tail -40 "$tmp/build.log"; fail "dpkg-buildpackage"; }
deb=$(ls "$tmp"/${pkg}_*.deb)
arch=$(dpkg-deb -f "$deb" Architecture)
[ "$arch" = "$(dpkg --print-architecture)" ] || fail "built for $arch"
grep -qx 'Architecture: amd64 arm64' "$src/debian/control" ||
	fail "debian/control: Architecture must list exactly what src/jail/rawsys.h supports"
# Debian's own checks of the package (errors and warnings fail).
if command -v lintian >/dev/null; then
	lintian --fail-on error,warning "$tmp"/${pkg}_*.changes >"$tmp/lintian.log" 2>&1 ||
		{ grep -v '^running with root' "$tmp/lintian.log"; fail "lintian"; }
	say "lintian: no errors or warnings"
else
	say "no lintian: package not linted"
fi

# --- install ----------------------------------------------------------------
say "apt-get install $deb"
installed_by_us=1
apt-get install -y -q --no-install-recommends "$deb" >"$tmp/install.log" 2>&1 ||
	{ tail -20 "$tmp/install.log"; fail "apt-get install"; }
dpkg -L "$pkg" >"$tmp/files"

unitdir=$(pkg-config --variable=systemdsystemunitdir systemd)
for f in /usr/sbin/sandbox-fcgi /usr/bin/sandbox-run /usr/sbin/sandbox-callbacks \
	"$unitdir/sandbox-fcgi.service" "$unitdir/sandbox-fcgi.socket" "$unitdir/sandbox-fcgi-sweep.service" \
	"$unitdir/sandbox-fcgi-sweep.timer" "$unitdir/sandbox-callbacks.service" \
	/usr/lib/sysusers.d/sandbox-fcgi.conf /usr/share/man/man8/sandbox-callbacks.8.gz \
	/usr/lib/tmpfiles.d/sandbox-fcgi.conf /etc/nginx/snippets/sandbox-http.conf \
	/etc/nginx/snippets/sandbox-location.conf /etc/nginx/snippets/sandbox-keys.conf \
	/usr/share/man/man8/sandbox-fcgi.8.gz /usr/share/man/man1/sandbox-run.1.gz \
	/usr/share/sandbox-fcgi/scripts/build-rootfs.sh /usr/share/sandbox-fcgi/scripts/verify-rootfs.sh \
	/usr/share/sandbox-fcgi/rootfs/minimal/packages /usr/share/doc/$pkg/README.Debian \
	/usr/share/doc/$pkg/OPERATIONS.md.gz; do
	grep -qxF "$f" "$tmp/files" || fail "the package lacks $f"
	[ -e "$f" ] || fail "$f not on disk"
done
[ -x /usr/share/sandbox-fcgi/scripts/build-rootfs.sh ] || fail "build-rootfs.sh not executable"
say "installed $(grep -c . "$tmp/files") paths"

# The configured paths, not a source build's or a placeholder.
cfgfiles=("$unitdir/sandbox-fcgi.service" "$unitdir/sandbox-fcgi.socket"
	"$unitdir/sandbox-fcgi-sweep.service" "$unitdir/sandbox-callbacks.service"
	/usr/lib/sysusers.d/sandbox-fcgi.conf /usr/lib/tmpfiles.d/sandbox-fcgi.conf
	/etc/nginx/snippets/sandbox-http.conf /usr/share/sandbox-fcgi/scripts/lib/rootfs-common.sh)
if grep -nE '/usr/local|@[a-zA-Z_]+@|/tmp/sandbox-deb|_build' "${cfgfiles[@]}"; then
	fail "installed configuration names a build path or placeholder"
fi
grep -q '^ExecStart=/usr/bin/multiwatch .* -- /usr/sbin/sandbox-fcgi --rootfs-base /var/lib/sandbox-fcgi/rootfs ' \
	"$unitdir/sandbox-fcgi.service" || fail "ExecStart"
grep -qx 'ListenStream=/run/sandbox-fcgi/fcgi.sock' "$unitdir/sandbox-fcgi.socket" || fail "ListenStream"
grep -qF 'server unix:/run/sandbox-fcgi/fcgi.sock;' /etc/nginx/snippets/sandbox-http.conf || fail "upstream"
grep -qF 'include /etc/nginx/snippets/sandbox-keys.conf;' /etc/nginx/snippets/sandbox-http.conf ||
	fail "the keys include"
grep -qx 'd /var/lib/sandbox-fcgi/rootfs 0755 root root -' /usr/lib/tmpfiles.d/sandbox-fcgi.conf ||
	fail "tmpfiles.d entry"
grep -qx 'd /var/lib/sandbox-fcgi/state 0700 sandbox sandbox -' /usr/lib/tmpfiles.d/sandbox-fcgi.conf ||
	fail "tmpfiles.d entry of the session state"
grep -qx 'ExecStart=/usr/sbin/sandbox-fcgi --sweep-sessions --state-dir /var/lib/sandbox-fcgi/state' \
	"$unitdir/sandbox-fcgi-sweep.service" || fail "the sweep's ExecStart"
grep -qx 'ExecStart=/usr/sbin/sandbox-callbacks --state-dir /var/lib/sandbox-fcgi/state $SANDBOX_CALLBACK_ARGS $SANDBOX_CALLBACKS_OPTS' \
	"$unitdir/sandbox-callbacks.service" || fail "the callback deliverer's ExecStart"
grep -qx 'User=sandbox' "$unitdir/sandbox-callbacks.service" || fail "the callback deliverer's user"
grep -qx 'InaccessiblePaths=-/etc/sandbox-fcgi/callback.secret' "$unitdir/sandbox-fcgi.service" ||
	fail "the responders' unit hides the callback secret"
grep -qx 'ROOTFS_DEFAULT_BASE=/var/lib/sandbox-fcgi/rootfs' /usr/share/sandbox-fcgi/scripts/lib/rootfs-common.sh ||
	fail "build-rootfs.sh default base"

# Installed, neither enabled nor started (no RootFS is built by the package).
if ls /etc/systemd/system/*/sandbox-fcgi.* >/dev/null 2>&1; then
	fail "the units were enabled on install"
fi

# The service user: postinst's systemd-sysusers made it (or it was there),
# and the installed sysusers.d entry alone makes it on an empty system.
getent passwd sandbox >/dev/null || fail "no service user after install"
mkdir -p "$tmp/sysroot/etc"
: >"$tmp/sysroot/etc/passwd"; : >"$tmp/sysroot/etc/group"
systemd-sysusers --root="$tmp/sysroot" /usr/lib/sysusers.d/sandbox-fcgi.conf
grep -q '^sandbox:x:[0-9]*:[0-9]*:[^:]*:/nonexistent:' "$tmp/sysroot/etc/passwd" ||
	fail "sysusers.d entry: $(cat "$tmp/sysroot/etc/passwd")"
[ -d "$base" ] && [ "$(stat -c %a:%U "$base")" = 755:root ] || fail "$base after tmpfiles"
[ "$(stat -c %a:%U /var/lib/sandbox-fcgi/state)" = 700:sandbox ] || fail "the session state dir after tmpfiles"

# systemd's own check of the installed units (paths, users, syntax).
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify "$unitdir/sandbox-fcgi.socket" "$unitdir/sandbox-fcgi.service" \
		"$unitdir/sandbox-fcgi-sweep.service" "$unitdir/sandbox-fcgi-sweep.timer" \
		"$unitdir/sandbox-callbacks.service" ||
		fail "systemd-analyze verify"
	say "systemd-analyze verify: ok"
	# The deliverer is the unit that talks to the network: its exposure
	# (1.1 of 10 when written; docs/OPERATIONS.md "systemd hardening") must
	# not creep up unnoticed.
	if systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
		systemd-analyze security --offline=yes --threshold=20 \
			"$unitdir/sandbox-callbacks.service" >"$tmp/security.log" 2>&1 ||
			{ tail -5 "$tmp/security.log"; fail "sandbox-callbacks.service exposure above 2.0"; }
		say "sandbox-callbacks.service: $(grep -o 'exposure level.*' "$tmp/security.log")"
	fi
else
	say "no systemd-analyze: units not verified"
fi

# nginx with the installed snippets in a minimal configuration.
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx/nginx.conf" <<EOF
pid $tmp/nginx/nginx.pid;
events {}
http {
    include /etc/nginx/snippets/sandbox-http.conf;
    access_log $tmp/nginx/logs/access.log sandbox_json;
    server {
        listen 127.0.0.1:8080;
        include /etc/nginx/snippets/sandbox-location.conf;
    }
}
EOF
nginx -t -q -p "$tmp/nginx" -e "$tmp/nginx/logs/error.log" -c "$tmp/nginx/nginx.conf" ||
	fail "nginx -t with the installed snippets"
say "nginx -t: ok"

# The installed programs: CLI conventions and man pages (tests/cli), then
# jails on the RootFS at the default base, found without being named.
SANDBOX_BIN=/usr/sbin/sandbox-fcgi SANDBOX_RUN=/usr/bin/sandbox-run SANDBOX_MAN_DIR=/usr/share/man \
SANDBOX_TEST_ROOTFS="$base/minimal/current/tree" \
	/usr/bin/python3 -m pytest -p no:cacheprovider -q "$repo/tests/cli" || fail "tests/cli on the installed programs"
/usr/sbin/sandbox-fcgi --help | grep -qF "(default $base)" || fail "sandbox-fcgi's default RootFS base"
/usr/bin/sandbox-run --info | jq -e '.namespaces | index("user") and index("net")' >/dev/null ||
	fail "sandbox-run --info"
out=$(/usr/bin/sandbox-run --file-data main.py='print(6*7)' -- python3 main.py)
[ "$(jq -r '.status + " " + .stdout' <<<"$out")" = "success 42" ] || fail "sandbox-run: $out"
say "sandbox-run in a jail: ok"
# The installed RootFS tooling finds its recipes and the installed sandbox-run.
SANDBOX_RUN=/usr/bin/sandbox-run /usr/share/sandbox-fcgi/scripts/verify-rootfs.sh minimal >"$tmp/verify.log" 2>&1 ||
	{ tail -20 "$tmp/verify.log"; fail "installed verify-rootfs.sh minimal"; }
say "installed verify-rootfs.sh: $(tail -1 "$tmp/verify.log")"

# --- purge ------------------------------------------------------------------
say "apt-get purge $pkg"
apt-get purge -y -q "$pkg" >"$tmp/purge.log" 2>&1 || { tail -20 "$tmp/purge.log"; fail "apt-get purge"; }
installed_by_us=0
! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok\|config-files' ||
	fail "$pkg still known to dpkg after purge"
left=()
while read -r f; do
	[ -d "$f" ] && continue
	{ [ -e "$f" ] || [ -L "$f" ]; } && left+=("$f")
done <"$tmp/files"
[ ${#left[@]} -eq 0 ] || fail "left after purge: ${left[*]}"
[ ! -e /usr/share/sandbox-fcgi ] || fail "/usr/share/sandbox-fcgi left after purge"
if ls /etc/systemd/system/*/sandbox-fcgi.* /var/lib/systemd/deb-systemd-helper-enabled/*sandbox-fcgi* \
	>/dev/null 2>&1; then
	fail "unit symlinks or deb-systemd-helper state left after purge"
fi
# Built separately, kept: the RootFS and (Debian's rule for system users)
# the service user.
[ -d "$base/minimal/current/tree" ] && [ "$(readlink "$base/minimal/current")" = "$rootfs_current" ] ||
	fail "purge touched the RootFS under $base"
[ ! -e /var/lib/sandbox-fcgi/state ] || fail "the session state was left after purge"
getent passwd sandbox >/dev/null || fail "the service user was removed (files may still be owned by it)"
[ -n "$user_before" ] || say "note: the service user made by the package stays (Debian keeps system users)"
say "purge: nothing left but the RootFS and the service user"
