#!/bin/bash
# scripts/test.sh - the project's whole test suite, from a clean checkout on
# a fresh Debian 12 machine, as root:
#
#   1. install the Debian packages it needs
#   2. build with autotools (-Werror) and run the Check unit tests (make check)
#   3. build the `minimal` and `compilers` RootFS templates (debootstrap), verify them;
#      cli: --version/--help/usage errors, man pages, sandbox-run --env (tests/cli, ~1 s)
#   4. jail isolation tests (real jails, tests/jail) + the 500-run leak test;
#      jail-service: the same suite in the service's own mode (as the service
#      user, in a cgroup delegated to it by svc_cgroup_delegate, with the
#      responders' --cgroup flags: SANDBOX_TEST_SERVICE_USER, tests/jail)
#   5. RootFS tests (tests/rootfs)
#   6. integration suite: real nginx + spawn-fcgi pool over HTTP (tests/integration);
#      quickstart: scripts/quickstart.sh of a fresh clone in a 0700 directory,
#      a run over HTTP, a re-run, stop (tests/quickstart, ~20 s);
#      dist: make distcheck (-j2), every tracked file in the tarball, the
#      tarball quick-started (~40 s);
#      deb: the Debian package built from the tarball in a temporary
#      directory, installed, smoke-tested through the installed files,
#      purged (tests/deb/run.sh, ~45 s)
#   7. the request fuzzer for a bounded time (tests/fuzz)
#   8. ASan+UBSan build: unit tests, jail tests and integration suite again
#   9. valgrind: unit tests and jails in fork mode
#  10. v2vm: the jail tests again, on a pure cgroup v2 kernel (Debian 12's)
#      booted under qemu, where the memory/pids/cpu controllers are real,
#      as root and in the service's mode (tests/v2vm/run.sh, ~6-7 min);
#      this machine type is cgroup v1
#
# Exits non-zero if any stage fails; the last line is "summary: N passed, N failed"
# (stages).  Knobs: SANDBOX_TEST_QUICK=1 skips stages 8-10 and shortens the
# fuzzer; SANDBOX_TEST_STAGES="build jail" runs only the named stages
# (deps build rootfs cli jail jail-service rootfs-tests integration quickstart dist deb fuzz
# asan valgrind v2vm);
# SANDBOX_FUZZ_SECONDS (default 60); SANDBOX_TEST_BUILD: the build directory
# (default _build).
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export PYTHONDONTWRITEBYTECODE=1
export SANDBOX_MUST_WORK=${SANDBOX_MUST_WORK:-1}
rootfs_base=${SANDBOX_ROOTFS_BASE:-/var/lib/sandbox-fcgi/rootfs}
build=${SANDBOX_TEST_BUILD:-$repo/_build}
asan=$repo/_build-asan
quick=${SANDBOX_TEST_QUICK:-0}
stages=${SANDBOX_TEST_STAGES:-"deps build rootfs cli jail jail-service rootfs-tests integration quickstart dist deb fuzz asan valgrind v2vm"}
passed=0 failed=0 failed_names=""

log() { printf '\n=== %s: %s\n' "$(date +%H:%M:%S)" "$*"; }
want() { [[ " $stages " == *" $1 "* ]]; }
stage() {
	local name=$1; shift
	want "$name" || return 0
	log "stage $name"
	local t0=$SECONDS
	if "$@"; then
		passed=$((passed + 1)); log "stage $name passed ($((SECONDS - t0)) s)"
	else
		failed=$((failed + 1)); failed_names+=" $name"; log "stage $name FAILED ($((SECONDS - t0)) s)"
	fi
}

packages=(build-essential autoconf automake libtool pkg-config
	libfcgi-dev libjansson-dev libseccomp-dev libcap-dev check libcurl4-openssl-dev libssl-dev
	nginx-light spawn-fcgi multiwatch debootstrap
	python3 python3-pytest python3-jsonschema logrotate curl jq clang libclang-rt-14-dev valgrind
	iproute2 procps util-linux file libcap2-bin nodejs
	debhelper dh-autoreconf dpkg-dev lintian systemd groff-base)

deps() {
	[ "$(id -u)" = 0 ] || { echo "scripts/test.sh must run as root (it makes namespaces, cgroups, RootFS)"; return 1; }
	local missing=()
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && { echo "all ${#packages[@]} packages present"; return 0; }
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

configure_in() { # DIR [configure args...]
	local dir=$1; shift
	mkdir -p "$dir" && cd "$dir" || return 1
	[ -f Makefile ] || "$repo/configure" -q --enable-werror --with-rootfs-base="$rootfs_base" "$@" || return 1
	cd "$repo"
}

build() {
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi || return 1
	configure_in "$build" || return 1
	make -C "$build" -j2 >/dev/null || make -C "$build" || return 1
	make -C "$build" -j2 check || { cat "$build"/tests/unit/*.log 2>/dev/null | tail -50; return 1; }
}

rootfs() {
	# minimal: every test's default; compilers: the c/cpp compile phase tests.
	# (python-data is built and verified on its own: docs/OPERATIONS.md.)
	local t
	for t in minimal compilers; do
		scripts/build-rootfs.sh "$t" "$rootfs_base" &&
			SANDBOX_RUN=$build/src/cli/sandbox-run scripts/verify-rootfs.sh "$rootfs_base/$t/current" ||
			return 1
	done
}

jail_tests() { # BUILD_DIR [pytest args]
	local dir=$1; shift
	SANDBOX_RUN=$dir/src/cli/sandbox-run SANDBOX_JAIL_LOOP=$dir/tests/jail/jail_loop \
	SANDBOX_TEST_ROOTFS=$rootfs_base/minimal/current/tree \
		/usr/bin/python3 -m pytest -p no:cacheprovider -q "$@" tests/jail/test_jail.py
}

# The jail tests as production runs them: the responders are the service
# user (spawn-fcgi -u, systemd User=) in a cgroup delegated to it, never host
# root.  A cgroup of its own (removed afterwards), made and delegated by the
# quick start's own helpers, so the test cannot drift from what they do.
jail_service() { # BUILD_DIR [pytest args]
	local dir=$1; shift
	(
		# shellcheck source=lib/service-common.sh
		. "$repo/scripts/lib/service-common.sh"
		SANDBOX_CGROUP=sandbox-test-svc-$$
		svc_defaults
		svc_ensure_user || exit 1
		svc_cgroup_delegate || { svc_cgroup_undelegate; exit 1; }
		[ -n "$SANDBOX_CGROUP_ARG" ] || { echo "jail-service: no cgroup hierarchy to delegate"; exit 1; }
		SANDBOX_TEST_SERVICE_USER=$SANDBOX_USER SANDBOX_TEST_CGROUP=$SANDBOX_CGROUP_ARG \
			jail_tests "$dir" -rs "$@"
		rc=$?
		svc_cgroup_undelegate
		exit $rc
	)
}

integration() { # BUILD_DIR [pytest args]
	local dir=$1; shift
	SANDBOX_BIN=$dir/src/fcgi/sandbox-fcgi SANDBOX_RUN=$dir/src/cli/sandbox-run \
	SANDBOX_ROOTFS_BASE=$rootfs_base tests/integration/run.sh "$@"
}

# The command-line conventions of both programs (issue 12 item 9).
cli_tests() {
	SANDBOX_BIN=$build/src/fcgi/sandbox-fcgi SANDBOX_RUN=$build/src/cli/sandbox-run \
	SANDBOX_TEST_ROOTFS=$rootfs_base/minimal/current/tree \
		/usr/bin/python3 -m pytest -p no:cacheprovider -q tests/cli
}

# The release tarball: make distcheck (a VPATH build in a read-only copy:
# make check, install, uninstall, distclean), every tracked file shipped
# (but CI's and git's own), and a quick start from it as from a checkout.
dist() {
	rm -f "$build"/sandbox-fcgi-*.tar.gz
	make -C "$build" -j2 distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror >"$build/distcheck.log" 2>&1 ||
		{ tail -60 "$build/distcheck.log"; return 1; }
	local tarball missing
	tarball=$(ls "$build"/sandbox-fcgi-*.tar.gz) || return 1
	if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
		missing=$(comm -23 <(git -C "$repo" ls-files | grep -vE '^(\.ci/|\.gitignore$)' | sort) \
			<(tar -tzf "$tarball" | sed 's|^[^/]*/||' | sort))
		[ -z "$missing" ] || { echo "not in $tarball:"; echo "$missing"; return 1; }
	fi
	SANDBOX_QS_TARBALL=$tarball SANDBOX_ROOTFS_BASE=$rootfs_base tests/quickstart/run.sh -k tarball
}

# Committed code only: the test clones HEAD (a user's fresh clone).
quickstart() {
	SANDBOX_ROOTFS_BASE=$rootfs_base tests/quickstart/run.sh
}

fuzz() {
	local secs=${SANDBOX_FUZZ_SECONDS:-60}
	[ "$quick" = 1 ] && secs=15
	tests/fuzz/run.sh "$secs"
}

asan_stage() {
	configure_in "$asan" --enable-sanitizers || return 1
	make -C "$asan" -j2 >/dev/null || return 1
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	make -C "$asan" -j2 check || return 1
	SANDBOX_LEAK_RUNS=100 jail_tests "$asan" || return 1
	# ASan's allocator (shadow memory, quarantine, no malloc_trim) makes a
	# responder's RSS say nothing about the code's memory bounds and far
	# exceed the pool's 128 MiB per responder: the hostile bodies still run
	# (for memory errors), without the RSS bounds, under a larger cap.
	SANDBOX_TEST_SANITIZED=1 SANDBOX_RESPONDER_MEMORY_MB=1024 integration "$asan"
}

v2vm() { # the jail tests of $build on a pure cgroup v2 kernel under qemu
	SANDBOX_V2VM_BUILD=$build SANDBOX_ROOTFS_BASE=$rootfs_base tests/v2vm/run.sh
}

valgrind_stage() {
	local vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
		--suppressions="$repo/tests/valgrind.supp")
	# valgrind keeps RLIMIT_NOFILE's hard limit for itself (setrlimit gives
	# EPERM in a process it runs, our forked child included): no fd limit here.
	CK_FORK=no "${vg[@]}" "$build/tests/unit/check_api" >/dev/null || return 1
	# The session store (src/session); valgrind does not know openat2
	# (ENOSYS, with a warning on stderr), so this also runs the
	# O_NOFOLLOW walk that kernels without openat2 get.
	CK_FORK=no "${vg[@]}" "$build/tests/unit/check_session" >/dev/null 2>"$build/check_session.vg" ||
		{ grep -v 'syscall: 437\|^--[0-9]*-- ' "$build/check_session.vg"; return 1; }
	# The asynchronous runs' store (src/async): leaks, bad reads of the
	# state file and directory listings.
	CK_FORK=no "${vg[@]}" "$build/tests/unit/check_async" >/dev/null || return 1
	# valgrind cannot follow clone(CLONE_VM) without threads: fork mode.
	local out
	out=$(SANDBOX_JAIL_FORK=1 "${vg[@]}" --trace-children=no "$build/src/cli/sandbox-run" \
		--rootfs "$rootfs_base/minimal/current/tree" --file-data main.py='print(6*7)' --max-open-files 0 \
		--output '*.py' -- python3 main.py) || return 1
	echo "$out" | grep -q '"stdout":"42\\n"' || { echo "unexpected: $out"; return 1; }
	SANDBOX_JAIL_FORK=1 JAIL_LOOP_MAX_OPEN_FILES=0 "${vg[@]}" "$build/tests/jail/jail_loop" leak \
		"$rootfs_base/minimal/current/tree" 24
}

stage deps deps
stage build build
stage rootfs rootfs
stage cli cli_tests
stage jail jail_tests "$build"
stage jail-service jail_service "$build"
stage rootfs-tests env ROOTFS_TESTS_QUICK="$quick" SANDBOX_RUN="$build/src/cli/sandbox-run" tests/rootfs/run-all.sh
stage integration integration "$build"
stage quickstart quickstart
stage dist dist
stage deb env SANDBOX_ROOTFS_BASE="$rootfs_base" tests/deb/run.sh "$build"
stage fuzz fuzz
if [ "$quick" != 1 ]; then
	stage asan asan_stage
	stage valgrind valgrind_stage
	stage v2vm v2vm
fi

log "stages failed:${failed_names:- none}"
echo "summary: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
