# scripts/lib/rootfs-publish.sh - switching `current` and pruning old
# versions.  Sourced by build-rootfs.sh (and by tests/rootfs, which drive
# these functions on small fake trees).  Needs rootfs-common.sh.

# rootfs_switch_current TEMPLATE_DIR VERSION: points TEMPLATE_DIR/current at
# VERSION atomically.  The new link is made under a temporary name and
# rename(2)d over `current` (mv -T), so a reader resolving `current` sees
# either the old or the new version, never a missing link; runs that already
# resolved the old path keep using the old tree.
rootfs_switch_current() {
	local tdir=$1 version=$2 tmp
	rootfs_valid_version "$version" || { rootfs_log "bad version name '$version'"; return 1; }
	[ -d "$tdir/$version/tree" ] || { rootfs_log "no tree in '$tdir/$version'"; return 1; }
	tmp=$tdir/.current.tmp.$$
	rm -f -- "$tmp"
	ln -s -- "$version" "$tmp" || return 1
	if ! mv -T -- "$tmp" "$tdir/current"; then
		rm -f -- "$tmp"
		return 1
	fi
}

# rootfs_current_version TEMPLATE_DIR: prints the version `current` names.
rootfs_current_version() {
	local target
	target=$(readlink -- "$1/current") || return 1
	printf '%s\n' "${target%/}"
}

# rootfs_version_in_use TEMPLATE_DIR VERSION: true if a mount namespace on
# this host has the version's tree mounted (a jail still running on it).
rootfs_version_in_use() {
	local tree
	tree=$(readlink -f -- "$1/$2/tree") || return 1
	grep -qsF -- " $tree " /proc/[0-9]*/mountinfo
}

# rootfs_prune TEMPLATE_DIR KEEP: removes all versions but the newest KEEP,
# never the one `current` points at (after a rollback it may be older) and
# never one a running jail still has mounted.
rootfs_prune() {
	local tdir=$1 keep=$2 current n i v
	local -a versions
	current=$(rootfs_current_version "$tdir") || current=
	mapfile -t versions < <(rootfs_versions "$tdir")
	n=${#versions[@]}
	for ((i = 0; i < n - keep; i++)); do
		v=${versions[i]}
		if [ "$v" = "$current" ]; then
			continue
		fi
		if rootfs_version_in_use "$tdir" "$v"; then
			rootfs_log "keeping $v: a running jail still has it mounted"
			continue
		fi
		rootfs_log "pruning old version $v"
		rm -rf --one-file-system -- "${tdir:?}/$v" || return 1
	done
}
