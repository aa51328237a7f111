#!/bin/bash
# tests/rootfs/test-publish.sh - fast tests (no debootstrap) of the pieces of
# build-rootfs.sh: atomic `current` switch, pruning, package lists with
# @include, the recipe hash, the content hash.  Needs root for chown/mount.
set -u
. "$(dirname "$0")/lib.sh"
. "$T_REPO/scripts/lib/rootfs-common.sh"
. "$T_REPO/scripts/lib/rootfs-publish.sh"
. "$T_REPO/scripts/lib/rootfs-build.sh"

TMP=$(mktemp -d)
HOLDER=
cleanup() {
	[ -z "$HOLDER" ] || kill "$HOLDER" 2>/dev/null
	rm -rf --one-file-system "$TMP"
}
trap cleanup EXIT

# fake_version TDIR VERSION: a version dir with a one-file tree.
fake_version() {
	mkdir -p "$1/$2/tree/etc"
	echo "$2" >"$1/$2/tree/etc/version"
	echo '{}' >"$1/$2/manifest.json"
}

# ---- switch --------------------------------------------------------------
T=$TMP/base/minimal
fake_version "$T" 20240101T000000Z
fake_version "$T" 20240102T000000Z
check "switch: first link" rootfs_switch_current "$T" 20240101T000000Z
check_eq "switch: link is relative" 20240101T000000Z "$(readlink "$T/current")"
check_eq "switch: resolves to the tree" 20240101T000000Z "$(cat "$T/current/tree/etc/version")"
check "switch: replace" rootfs_switch_current "$T" 20240102T000000Z
check_eq "switch: now the new version" 20240102T000000Z "$(cat "$T/current/tree/etc/version")"
if rootfs_switch_current "$T" 20240109T000000Z 2>/dev/null; then
	fail "switch: a version without a tree is refused"
else
	ok "switch: a version without a tree is refused"
fi
check_eq "switch: refused switch left current alone" 20240102T000000Z "$(readlink "$T/current")"
if rootfs_switch_current "$T" "../../etc" 2>/dev/null; then fail "switch: bad version name refused"; else ok "switch: bad version name refused"; fi
check_eq "switch: no temporary link left" "" "$(ls -A "$T" | grep '^\.current' || true)"

# Readers resolving `current` while it is switched back and forth must never
# find it missing (rm + ln would leave a window; rename(2) does not).
(
	misses=0 reads=0
	while [ ! -e "$TMP/stop" ]; do
		[ -e "$T/current/tree/etc/version" ] || misses=$((misses + 1))
		reads=$((reads + 1))
	done
	echo "$misses $reads" >"$TMP/misses"
) &
reader=$!
for i in $(seq 1 100); do
	rootfs_switch_current "$T" 20240101T000000Z
	rootfs_switch_current "$T" 20240102T000000Z
done
touch "$TMP/stop"
wait "$reader"
read -r misses reads <"$TMP/misses"
check_eq "switch: 200 switches under a busy reader, current never missing" 0 "$misses"
check "switch: the reader really ran during the switches ($reads reads)" [ "$reads" -gt 100 ]

# ---- prune ---------------------------------------------------------------
P=$TMP/prune/t
for v in 20240101T000000Z 20240102T000000Z 20240103T000000Z 20240104T000000Z; do fake_version "$P" "$v"; done
mkdir -p "$P/not-a-version"
rootfs_switch_current "$P" 20240104T000000Z
rootfs_prune "$P" 2 2>/dev/null
check_eq "prune: keeps the newest two" "20240103T000000Z 20240104T000000Z" "$(rootfs_versions "$P" | tr '\n' ' ' | sed 's/ $//')"
check "prune: leaves other names alone" [ -d "$P/not-a-version" ]

for v in 20240105T000000Z 20240106T000000Z; do fake_version "$P" "$v"; done
rootfs_switch_current "$P" 20240103T000000Z      # rolled back to an old one
rootfs_prune "$P" 2 2>/dev/null
check_eq "prune: never removes the version current points at" \
	"20240103T000000Z 20240105T000000Z 20240106T000000Z" "$(rootfs_versions "$P" | tr '\n' ' ' | sed 's/ $//')"

fake_version "$P" 20240107T000000Z
rootfs_switch_current "$P" 20240107T000000Z
# A process in its own mount namespace holds 20240103's tree mounted, as a
# running jail would.
unshare -m --propagation private sh -c "mount --bind '$P/20240103T000000Z/tree' '$P/20240103T000000Z/tree' && exec sleep 60" &
HOLDER=$!
for _ in $(seq 1 50); do grep -qs " $P/20240103T000000Z/tree " /proc/$HOLDER/mountinfo && break; sleep 0.1; done
msg=$(rootfs_prune "$P" 2 2>&1)
check "prune: keeps a version a running jail has mounted" [ -d "$P/20240103T000000Z/tree/etc" ]
check_contains "prune: says why it kept it" "still has it mounted" "$msg"
check "prune: removed the unused old one" [ ! -e "$P/20240105T000000Z" ]
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null; HOLDER=
rootfs_prune "$P" 2 2>/dev/null
check "prune: removes it once unmounted" [ ! -e "$P/20240103T000000Z" ]

check_eq "versions: -N suffixes sort after their base" "20240101T000000Z 20240101T000000Z-2 20240101T000000Z-10" \
	"$(mkdir -p "$TMP/v/20240101T000000Z" "$TMP/v/20240101T000000Z-10" "$TMP/v/20240101T000000Z-2"; rootfs_versions "$TMP/v" | tr '\n' ' ' | sed 's/ $//')"

# ---- package lists -------------------------------------------------------
R=$TMP/recipe
mkdir -p "$R/common" "$R/a" "$R/b" "$R/c" "$R/bad"
printf 'base-pkg\n' >"$R/common/packages"
printf '# comment\npython3  # trailing\n\nnodejs\n' >"$R/a/packages"
printf '@include a\ngcc\npython3\n' >"$R/b/packages"
printf '@include c\n' >"$R/c/packages"
printf 'ok-pkg\n--force-yes\n' >"$R/bad/packages"
check_eq "packages: comments, blanks, common list" "base-pkg nodejs python3" "$(build_package_list "$R" a | tr '\n' ' ' | sed 's/ $//')"
check_eq "packages: @include, de-duplicated" "base-pkg gcc nodejs python3" "$(build_package_list "$R" b | tr '\n' ' ' | sed 's/ $//')"
out=$(build_package_list "$R" c 2>&1); rc=$?
check "packages: an @include cycle is an error" [ "$rc" -ne 0 ]
check_contains "packages: the cycle is named" "nested too deep" "$out"
out=$(build_package_list "$R" bad 2>&1); rc=$?
check "packages: an option-like name is refused" [ "$rc" -ne 0 ]
check_contains "packages: the bad name is named" "bad package name '--force-yes'" "$out"

# ---- recipe hash ---------------------------------------------------------
mkdir -p "$R/a/overlay/etc"
echo one >"$R/a/overlay/etc/x"
h1=$(build_recipe_hash "$R" a bookworm "p")
h2=$(build_recipe_hash "$R" a bookworm "p")
check_eq "recipe hash: stable" "$h1" "$h2"
echo two >"$R/a/overlay/etc/x"
check "recipe hash: changes with an overlay file" [ "$h1" != "$(build_recipe_hash "$R" a bookworm p)" ]
h1=$(build_recipe_hash "$R" a bookworm p)
chmod +x "$R/a/overlay/etc/x"
check "recipe hash: changes with the executable bit" [ "$h1" != "$(build_recipe_hash "$R" a bookworm p)" ]
h1=$(build_recipe_hash "$R" a bookworm p)
check "recipe hash: changes with the package list" [ "$h1" != "$(build_recipe_hash "$R" a bookworm "p q")" ]
check "recipe hash: changes with the suite" [ "$h1" != "$(build_recipe_hash "$R" a trixie p)" ]
touch -d 2001-01-01 "$R/a/overlay/etc/x"
check_eq "recipe hash: ignores timestamps" "$h1" "$(build_recipe_hash "$R" a bookworm p)"

# ---- content hash --------------------------------------------------------
C=$TMP/content
mkdir -p "$C/etc" "$C/bin"
echo data >"$C/etc/f"
ln -s ../etc/f "$C/bin/l"
h1=$(rootfs_content_hash "$C")
check "content hash: format" grep -qE '^sha256:[0-9a-f]{64}$' <<<"$h1"
cp -a "$C" "$TMP/content2"
touch -d 2001-01-01 "$TMP/content2/etc/f"
check_eq "content hash: same files, other timestamps" "$h1" "$(rootfs_content_hash "$TMP/content2")"
chmod 4755 "$TMP/content2/etc/f"
check "content hash: sees a mode change (setuid)" [ "$h1" != "$(rootfs_content_hash "$TMP/content2")" ]
chmod 0644 "$TMP/content2/etc/f"
check_eq "content hash: mode restored" "$h1" "$(rootfs_content_hash "$TMP/content2")"
echo datb >"$TMP/content2/etc/f"
check "content hash: sees a content change of equal size" [ "$h1" != "$(rootfs_content_hash "$TMP/content2")" ]
echo data >"$TMP/content2/etc/f"
ln -sfn ../etc/g "$TMP/content2/bin/l"
check "content hash: sees a symlink target change" [ "$h1" != "$(rootfs_content_hash "$TMP/content2")" ]
ln -sfn ../etc/f "$TMP/content2/bin/l"
chown 1000 "$TMP/content2/etc/f"
check "content hash: sees an owner change" [ "$h1" != "$(rootfs_content_hash "$TMP/content2")" ]
chown 0 "$TMP/content2/etc/f"
mkdir "$TMP/content2/empty"
check "content hash: sees a new empty directory" [ "$h1" != "$(rootfs_content_hash "$TMP/content2")" ]

# ---- overlay never writes through a symlink of the tree ------------------
O=$TMP/overlay-tree
mkdir -p "$O/etc" "$TMP/outside" "$TMP/ov/etc/sub"
ln -s "$TMP/outside" "$O/etc/sub"
echo x >"$TMP/ov/etc/sub/file"
out=$( (build_copy_overlay "$TMP/ov" "$O") 2>&1 ); rc=$?
check "overlay: a path through a symlink in the tree is refused" [ "$rc" -ne 0 ]
check "overlay: nothing written outside the tree" [ ! -e "$TMP/outside/file" ]
rm "$O/etc/sub"
ln -s "$TMP/outside/target" "$O/etc/resolv.conf"
printf '' >"$TMP/ov/etc/resolv.conf"; rm -rf "$TMP/ov/etc/sub"
(build_copy_overlay "$TMP/ov" "$O") 2>/dev/null
check "overlay: a symlinked file is replaced, not followed" [ -f "$O/etc/resolv.conf" ] && [ ! -L "$O/etc/resolv.conf" ] && [ ! -e "$TMP/outside/target" ]

summary
