#!/bin/bash
# tests/v2vm/run.sh - the jail's cgroup v2 path on a real cgroup v2 kernel.
#
# The development machines are cgroup v1 (hybrid), so this boots Debian 12's
# own kernel (linux-image-amd64, 6.1) under qemu with software emulation
# (TCG: no /dev/kvm needed) and a pure cgroup2 hierarchy (cgroup_no_v1=all;
# the root enables +cpuset +cpu +io +memory +pids, as systemd does), and runs
# the jail tests there against the binaries of this checkout:
#
#   host:  installs qemu-system-x86 + busybox-static (apt), downloads the
#          kernel .deb (apt-get download), builds a small initramfs (busybox,
#          the 9p/virtio modules, tests/v2vm/init), boots it with the host's
#          / shared read-only over 9p and a writable results share;
#   guest: tests/v2vm/guest.sh as pid 1 of the host's tree: tmpfs on /tmp,
#          /var/tmp, /run; a delegated cgroup for the test runner; runs
#          tests/jail/test_jail.py (SANDBOX_MUST_WORK=1, v2 expected, every
#          run told --cgroup D --require-cgroup), then the same suite in the
#          service's own mode (SANDBOX_TEST_SERVICE_USER: as the service
#          user, from the pool leaf of a directory delegated by
#          svc_cgroup_delegate) and powers off.
#
# No network anywhere (-nic none).  Prints the guest's test summary and
# exits non-zero when a test failed, skipped where it must not, or the VM
# did not finish.  Run as root from a fresh Debian 12 machine:
#
#   tests/v2vm/run.sh
#
# Knobs: SANDBOX_V2VM_BUILD (build dir, default _build; built with
# scripts/test.sh's deps+build stages when missing), SANDBOX_TEST_ROOTFS
# (RootFS tree; default minimal/current of SANDBOX_ROOTFS_BASE, else a
# hard-linked copy of /usr in the cache), SANDBOX_V2VM_CACHE
# (/var/cache/sandbox-fcgi/v2vm), SANDBOX_V2VM_PYTEST (extra pytest args,
# e.g. "-k memory"), SANDBOX_LEAK_RUNS (500), SANDBOX_V2VM_TIMEOUT (seconds,
# 900), SANDBOX_V2VM_MEM (MiB, 2048), SANDBOX_V2VM_SMP (2).
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
cache=${SANDBOX_V2VM_CACHE:-/var/cache/sandbox-fcgi/v2vm}
build=${SANDBOX_V2VM_BUILD:-$repo/_build}
rootfs_base=${SANDBOX_ROOTFS_BASE:-/var/lib/sandbox-fcgi/rootfs}
vm_timeout=${SANDBOX_V2VM_TIMEOUT:-900}
t0=$SECONDS

log() { printf '=== v2vm %s: %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "FAILED: $*"; echo "v2vm summary: FAILED ($*)"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (apt, qemu's 9p passthrough)"
mkdir -p "$cache" || die "mkdir $cache"

# ---- packages
need=()
for p in qemu-system-x86 busybox-static; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get install -y -qq --no-install-recommends "${need[@]}" ||
	  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; }; } \
		>/dev/null || die "apt-get install ${need[*]}"
fi

# ---- the binaries under test
if [ ! -x "$build/src/cli/sandbox-run" ] || [ ! -x "$build/tests/jail/jail_loop" ]; then
	[ "$build" = "$repo/_build" ] || die "$build has no sandbox-run/jail_loop"
	log "building _build (scripts/test.sh deps build)"
	SANDBOX_TEST_STAGES="deps build" scripts/test.sh >"$cache.build.log" 2>&1 ||
		die "build failed (see $cache.build.log)"
fi

# ---- kernel: Debian 12's linux-image-amd64, unpacked
kpkg=${SANDBOX_V2VM_KERNEL:-$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ { print $2; exit }')}
[ -n "$kpkg" ] || { apt-get update -qq >/dev/null; kpkg=$(apt-cache depends linux-image-amd64 |
	awk '/Depends: linux-image-[0-9]/ { print $2; exit }'); }
[ -n "$kpkg" ] || die "cannot resolve linux-image-amd64"
kver=${kpkg#linux-image-}
kdir=$cache/$kpkg
if [ ! -e "$kdir/.ready" ]; then
	log "downloading $kpkg"
	rm -rf "$kdir" "$cache"/deb && mkdir -p "$cache/deb" || die "mkdir"
	# apt's _apt user cannot write a root-owned dir: download as root there
	(cd "$cache/deb" && apt-get download -q "$kpkg" 2>&1 | grep -v '^W: Download is performed unsandboxed') ||
		true
	deb=$(ls "$cache"/deb/"$kpkg"_*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || die "apt-get download $kpkg"
	dpkg -x "$deb" "$kdir" || die "dpkg -x $deb"
	rm -rf "$cache/deb"
	touch "$kdir/.ready"
fi
vmlinuz=$kdir/boot/vmlinuz-$kver
moddir=$kdir/lib/modules/$kver
[ -r "$vmlinuz" ] && [ -d "$moddir" ] || die "no kernel in $kdir"

# ---- initramfs: busybox, the modules for 9p over virtio-pci (with their
# dependencies, in load order, from each module's modinfo), our /init
initrd=$cache/initrd-$kver.gz
stage=$cache/initrd.stage
rm -rf "$stage" && mkdir -p "$stage"/{bin,dev,proc,modules,newroot} || die "mkdir $stage"
cp /bin/busybox "$stage/bin/busybox" && cp tests/v2vm/init "$stage/init" && chmod 0755 "$stage/init" ||
	die "initramfs files"
mknod -m 0600 "$stage/dev/console" c 5 1 && mknod -m 0666 "$stage/dev/null" c 1 3 || die "mknod"
declare -A loaded=()
order=()
modfile() { find "$moddir/kernel" -name "$1.ko" -print -quit; }
add_mod() { # NAME: its dependencies first
	local m=$1 f dep
	[ -n "${loaded[$m]:-}" ] && return 0
	f=$(modfile "$m")
	if [ -z "$f" ]; then  # built in?
		grep -q "/$m.ko\$" "$moddir/modules.builtin" && { loaded[$m]=builtin; return 0; }
		die "module $m not found for $kver"
	fi
	loaded[$m]=1
	for dep in $(busybox strings "$f" | sed -n 's/^depends=//p' | tr ',' ' '); do
		add_mod "$dep"
	done
	cp "$f" "$stage/modules/$m.ko" || die "cp $f"
	order+=("$m")
}
for m in virtio_pci 9pnet_virtio 9p; do add_mod "$m"; done
printf '%s\n' "${order[@]}" > "$stage/modules.order"
(cd "$stage" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > "$initrd.tmp") &&
	mv "$initrd.tmp" "$initrd" || die "cpio"
rm -rf "$stage"

# ---- RootFS for the jails (readable through the 9p share)
rootfs=${SANDBOX_TEST_ROOTFS:-$rootfs_base/minimal/current/tree}
if [ ! -d "$rootfs/usr" ]; then
	rootfs=$cache/root/tree
	tests/jail/mkroot-host.sh "$cache/root" || die "mkroot-host.sh"
fi

case "$repo:$build:$rootfs" in
*[[:space:]]*) die "the checkout, build and RootFS paths must not contain spaces (kernel command line)" ;;
esac
# ---- results share: the guest's only writable host directory
results=$cache/results
rm -rf "$results" && mkdir -p "$results" || die "mkdir $results"
{
	printf 'REPO=%q\nBUILD=%q\nROOTFS=%q\n' "$repo" "$build" "$rootfs"
	printf 'LEAK_RUNS=%q\nPYTEST_EXTRA=%q\n' "${SANDBOX_LEAK_RUNS:-500}" "${SANDBOX_V2VM_PYTEST:-}"
} > "$results/env"

log "booting $kpkg under qemu (TCG), ${SANDBOX_V2VM_MEM:-2048} MiB, ${SANDBOX_V2VM_SMP:-2} CPUs; console in $results/console.log"
tb=$SECONDS
# multidevs=remap: / spans several host filesystems (/proc, /sys, ...);
# without it their inode numbers collide in the guest and the guest's own
# mounts over them (proc on /proc) misbehave.
timeout -k 10 "$vm_timeout" qemu-system-x86_64 \
	-accel tcg,thread=multi -cpu max -smp "${SANDBOX_V2VM_SMP:-2}" -m "${SANDBOX_V2VM_MEM:-2048}" \
	-nographic -no-reboot -nic none -serial mon:stdio -display none \
	-kernel "$vmlinuz" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 quiet loglevel=4 cgroup_no_v1=all v2vm_results=$results v2vm_script=$repo/tests/v2vm/guest.sh v2vm_keep=$repo:$build:$rootfs" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap \
	-virtfs "local,path=$results,mount_tag=results,security_model=passthrough" \
	</dev/null > "$results/console.log" 2>&1
qrc=$?
log "VM exited rc=$qrc after $((SECONDS - tb)) s"

# ---- verdict (the guest's whole log: $results/guest.log; console: console.log)
grep -aE '^=== guest|v2vm-init|Kernel panic|BUG:|Oops|Call Trace' "$results/console.log" | sed 's/^/  | /'
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	tail -n 30 "$results/console.log" | sed 's/^/  | /'
	die "VM ran past ${vm_timeout} s"
fi
[ -f "$results/verdict" ] || { tail -n 30 "$results/console.log" | sed 's/^/  | /'
	die "guest wrote no verdict (see $results/console.log, $results/guest.log)"; }
grep -q '^v2vm summary: PASSED' "$results/verdict" ||
	sed -n '/short test summary info/,$p' "$results/guest.log" | grep -av '^=== guest' | sed 's/^/  | /'
cat "$results/verdict"
echo "v2vm wall time: $((SECONDS - t0)) s"
grep -q '^v2vm summary: PASSED' "$results/verdict"
