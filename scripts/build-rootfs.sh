#!/bin/bash
# build-rootfs.sh - build a RootFS template into a new version directory,
# harden it, record its manifest, switch `current` to it and prune.
#
# usage: build-rootfs.sh [--force] [--keep N] TEMPLATE [DEST_BASE]
#
# DEST_BASE defaults to $SANDBOX_ROOTFS_BASE or /var/lib/sandbox-fcgi/rootfs.
# Re-running with an unchanged recipe (package list, overlay files, runtimes
# template, these scripts, suite) is a no-op; --force rebuilds anyway.
#
# Environment:
#   ROOTFS_RECIPE_DIR       recipe folder (default: rootfs/ of this repo)
#   ROOTFS_SUITE            Debian suite (default bookworm)
#   ROOTFS_MIRROR           archive URL (default: the host's apt sources)
#   ROOTFS_SECURITY_MIRROR  security archive URL (default: host's; "none" to skip)
#   ROOTFS_CACHE_DIR        .deb cache kept between builds
#                           (default /var/cache/sandbox-fcgi/debs; "none" to skip)
set -euo pipefail
umask 022

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$SCRIPT_DIR/lib/rootfs-common.sh"
. "$SCRIPT_DIR/lib/rootfs-publish.sh"
. "$SCRIPT_DIR/lib/rootfs-build.sh"

usage() {
	echo "usage: $rootfs_prog [--force] [--keep N] TEMPLATE [DEST_BASE]" >&2
	exit 2
}

FORCE=0
KEEP=2
while [ $# -gt 0 ]; do
	case $1 in
	--force) FORCE=1; shift ;;
	--keep) [ $# -ge 2 ] || usage; KEEP=$2; shift 2 ;;
	-h|--help) usage ;;
	--) shift; break ;;
	-*) rootfs_log "unknown option '$1'"; usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] && [ $# -le 2 ] || usage
TEMPLATE=$1
BASE=$(rootfs_base "${2:-}")
RECIPE=${ROOTFS_RECIPE_DIR:-$ROOTFS_REPO/rootfs}
SUITE=${ROOTFS_SUITE:-bookworm}

rootfs_valid_template "$TEMPLATE" || rootfs_die "bad template name '$TEMPLATE' (lowercase letters, digits, - and _)"
[[ $KEEP =~ ^[1-9][0-9]*$ ]] || rootfs_die "--keep wants a positive number, got '$KEEP'"
[ -f "$RECIPE/$TEMPLATE/packages" ] || rootfs_die "no recipe for template '$TEMPLATE' ('$RECIPE/$TEMPLATE/packages' missing)"
[ -f "$RECIPE/$TEMPLATE/runtimes.json.in" ] || rootfs_die "'$RECIPE/$TEMPLATE/runtimes.json.in' missing"
[ "$(id -u)" -eq 0 ] || rootfs_die "must run as root (debootstrap, chroot and chown need it)"
rootfs_require_tools debootstrap chroot jq flock sha256sum dpkg-query mount umount getcap setcap
[[ $BASE = /* ]] || BASE=$(pwd)/$BASE

PACKAGES=$(build_package_list "$RECIPE" "$TEMPLATE") || exit 1
RECIPE_HASH=$(build_recipe_hash "$RECIPE" "$TEMPLATE" "$SUITE" "$PACKAGES")
TDIR=$BASE/$TEMPLATE
mkdir -p -- "$TDIR"

# One build per template at a time: the lock also protects the staging
# directories and the prune from a concurrent run.
exec 9>"$TDIR/.lock"
flock -w 1800 9 || rootfs_die "another build of '$TEMPLATE' holds $TDIR/.lock"

if [ "$FORCE" -eq 0 ] && build_is_current "$TDIR" "$RECIPE_HASH"; then
	rootfs_log "$TEMPLATE is up to date ($(rootfs_current_version "$TDIR"), recipe $RECIPE_HASH); use --force to rebuild"
	exit 0
fi

build_remove_stale_staging "$TDIR"
VERSION=$(build_new_version "$TDIR")
STAGE=$TDIR/.build-$VERSION
trap 'build_cleanup "$STAGE"' EXIT
trap 'exit 130' INT TERM
mkdir -- "$STAGE"
TREE=$STAGE/tree
START=$(date +%s)

MIRROR=${ROOTFS_MIRROR:-$(build_host_mirror "$SUITE")} ||
	rootfs_die "no mirror for '$SUITE' in the host's apt sources; set ROOTFS_MIRROR"
SECURITY=${ROOTFS_SECURITY_MIRROR:-$(build_host_mirror "$SUITE-security" || echo none)}
rootfs_log "building $TEMPLATE $VERSION from $MIRROR ($SUITE) into $STAGE"

build_debootstrap "$TREE" "$SUITE" "$MIRROR"
build_install_packages "$TREE" "$SUITE" "$MIRROR" "$SECURITY" "$PACKAGES"
build_apply_overlay "$RECIPE" "$TEMPLATE" "$TREE"
build_compile_warm_boot "$TREE"
build_render_runtimes "$RECIPE" "$TEMPLATE" "$TREE" "$STAGE/runtimes.json"
build_harden "$TREE"
build_mount_points "$TREE"
build_write_manifest "$TREE" "$STAGE/manifest.json" "$TEMPLATE" "$VERSION" "$RECIPE_HASH" "$SUITE"

# The version appears complete or not at all: rename(2) of the staging dir.
mv -T -- "$STAGE" "$TDIR/$VERSION"
trap - EXIT
rootfs_switch_current "$TDIR" "$VERSION" || rootfs_die "cannot switch $TDIR/current to $VERSION"
rootfs_prune "$TDIR" "$KEEP" || rootfs_die "pruning old versions of '$TEMPLATE' failed"
rootfs_log "built $TEMPLATE $VERSION in $(($(date +%s) - START))s: $(jq -r '"\(.size_bytes) bytes, \(.hash)"' "$TDIR/$VERSION/manifest.json")"
rootfs_log "current -> $VERSION"
