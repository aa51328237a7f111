# scripts/lib/rootfs-common.sh - helpers shared by build-rootfs.sh,
# verify-rootfs.sh and tests/rootfs: messages, the on-disk layout, the
# content hash.  Source it; it defines functions and variables only.
#
# Layout (read by the responder's runtime registry, src/api/rt.c):
#   $BASE/<template>/current -> <version>     relative symlink, switched by rename(2)
#   $BASE/<template>/<version>/manifest.json
#   $BASE/<template>/<version>/runtimes.json
#   $BASE/<template>/<version>/tree/          the root filesystem of the jail

ROOTFS_DEFAULT_BASE=/var/lib/sandbox-fcgi/rootfs
ROOTFS_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Versions are UTC build timestamps, optionally with a -N suffix when two
# builds start in the same second; only names of this shape are pruned.
ROOTFS_VERSION_RE='^[0-9]{8}T[0-9]{6}Z(-[0-9]+)?$'
ROOTFS_TEMPLATE_RE='^[a-z0-9][a-z0-9_-]{0,63}$'

rootfs_prog=${0##*/}
rootfs_log() { printf '%s: %s\n' "$rootfs_prog" "$*" >&2; }
rootfs_die() { printf '%s: error: %s\n' "$rootfs_prog" "$*" >&2; exit 1; }

rootfs_base() { printf '%s\n' "${1:-${SANDBOX_ROOTFS_BASE:-$ROOTFS_DEFAULT_BASE}}"; }

rootfs_valid_template() { [[ $1 =~ $ROOTFS_TEMPLATE_RE ]]; }
rootfs_valid_version() { [[ $1 =~ $ROOTFS_VERSION_RE ]]; }

# rootfs_require_tools TOOL...: dies naming the missing ones.
rootfs_require_tools() {
	local t missing=()
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	[ ${#missing[@]} -eq 0 ] || rootfs_die "missing tools: ${missing[*]} (apt-get install debootstrap jq util-linux libcap2-bin)"
}

# rootfs_content_hash TREE: prints "sha256:<hex>" over a canonical listing of
# TREE.  It covers every path (sorted bytewise), its type, permission bits
# (setuid/setgid/sticky included), numeric owner and group, symlink target,
# and the sha256 of every regular file's contents.  It ignores timestamps,
# extended attributes and hard-link structure, so two trees with the same
# files hash the same whenever they were built.
rootfs_content_hash() {
	local tree=$1
	(
		set -o pipefail
		cd "$tree" || exit 1
		{
			find . -xdev -printf '%P\t%y\t%m\t%U:%G\t%l\0' | LC_ALL=C sort -z
			find . -xdev -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
		} | sha256sum | { read -r sum _ && printf 'sha256:%s\n' "$sum"; }
	)
}

# rootfs_version_dir PATH: resolves a version dir, a template's `current`
# link or a template dir to the physical version dir (with manifest.json).
rootfs_version_dir() {
	local p=$1
	if [ -d "$p" ] && [ ! -e "$p/tree" ] && [ -L "$p/current" ]; then
		p=$p/current
	fi
	p=$(readlink -f -- "$p") || return 1
	[ -d "$p/tree" ] || return 1
	printf '%s\n' "$p"
}

# rootfs_versions TEMPLATE_DIR: prints the version names, oldest first.
rootfs_versions() {
	local d name
	for d in "$1"/*/; do
		[ -d "$d" ] || continue
		name=$(basename "$d")
		rootfs_valid_version "$name" && printf '%s\n' "$name"
	done | LC_ALL=C sort -V
}
