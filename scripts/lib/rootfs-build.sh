# scripts/lib/rootfs-build.sh - the steps of build-rootfs.sh, one function
# each.  Needs rootfs-common.sh.  Functions print their result on stdout and
# report failures with rootfs_die (build-rootfs.sh runs with set -e and its
# EXIT trap removes the staging directory).

# Bumped when the build steps change in a way the script hash would not show.
ROOTFS_BUILD_FORMAT=1

# build_package_list RECIPE TEMPLATE: the sorted, de-duplicated package names
# of common/packages plus TEMPLATE/packages, following "@include OTHER" lines
# (which include OTHER's package list, not its overlay).
build_package_list() {
	local recipe=$1 template=$2 list
	list=$(build_read_packages "$recipe" common 0 && build_read_packages "$recipe" "$template" 0) || return 1
	printf '%s\n' "$list" | LC_ALL=C sort -u
}

build_read_packages() {
	local recipe=$1 template=$2 depth=$3 line word rest expanded
	[ "$depth" -le 4 ] || rootfs_die "@include nested too deep at '$template' (a cycle?)"
	[ -f "$recipe/$template/packages" ] || rootfs_die "no package list '$recipe/$template/packages'"
	expanded=$(build_expand_includes "$recipe" "$template" "$depth") || exit 1
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%%#*}
		read -r word rest <<<"$line" || true
		[ -n "${word:-}" ] || continue
		[ -z "${rest:-}" ] || rootfs_die "$recipe/$template/packages: one package per line, got '$line'"
		case $word in
		@*) rootfs_die "$recipe/$template/packages: unknown directive '$word'" ;;
		esac
		# Debian package names only: nothing that apt could read as an option.
		[[ $word =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || rootfs_die "$recipe/$template/packages: bad package name '$word'"
		printf '%s\n' "$word"
	done <<<"$expanded"
}

# build_expand_includes RECIPE TEMPLATE DEPTH: the lines of the package list
# with each "@include OTHER" replaced by OTHER's (expanded) lines.
build_expand_includes() {
	local recipe=$1 template=$2 depth=$3 line other
	while IFS= read -r line || [ -n "$line" ]; do
		if [[ $line =~ ^[[:space:]]*@include[[:space:]]+([^[:space:]#]+)[[:space:]]*(#.*)?$ ]]; then
			other=${BASH_REMATCH[1]}
			rootfs_valid_template "$other" || rootfs_die "$recipe/$template/packages: bad @include '$other'"
			build_read_packages "$recipe" "$other" $((depth + 1)) || exit 1
		else
			printf '%s\n' "$line"
		fi
	done <"$recipe/$template/packages"
}

# build_tree_digest DIR: one line per file under DIR (path, executable bit,
# content hash, symlink target), sorted; empty when DIR does not exist.
build_tree_digest() {
	[ -d "$1" ] || return 0
	(
		cd "$1" &&
		find . \( -type f -o -type l \) -printf '%P\t%y\t%l\t' -exec sh -c \
			'if [ -L "$1" ]; then echo -; elif [ -x "$1" ]; then echo x; else echo -; fi' _ {} \; |
			LC_ALL=C sort
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
	)
}

# build_recipe_hash RECIPE TEMPLATE SUITE PACKAGES: "sha256:..." over what
# decides the build's outcome: the build scripts, the suite, the resolved
# package list, and the files of common/ and TEMPLATE/ in the recipe.
build_recipe_hash() {
	local recipe=$1 template=$2 suite=$3 packages=$4
	{
		printf 'format %s\nsuite %s\n' "$ROOTFS_BUILD_FORMAT" "$suite"
		printf '%s\n' "$packages"
		cat "$ROOTFS_REPO/scripts/build-rootfs.sh" "$ROOTFS_REPO/scripts/lib/rootfs-common.sh" \
			"$ROOTFS_REPO/scripts/lib/rootfs-build.sh" "$ROOTFS_REPO/scripts/lib/rootfs-publish.sh"
		printf 'common\n'; build_tree_digest "$recipe/common"
		printf 'template\n'; build_tree_digest "$recipe/$template"
	} | sha256sum | { read -r sum _ && printf 'sha256:%s\n' "$sum"; }
}

# build_is_current TEMPLATE_DIR RECIPE_HASH: true when `current` is a
# complete build of this exact recipe.
build_is_current() {
	local dir=$1/current have
	[ -L "$dir" ] && [ -d "$dir/tree" ] && [ -f "$dir/manifest.json" ] && [ -f "$dir/runtimes.json" ] || return 1
	have=$(jq -r '.recipe_hash // ""' "$dir/manifest.json" 2>/dev/null) || return 1
	[ "$have" = "$2" ]
}

# build_new_version TEMPLATE_DIR: a fresh version name (UTC build time).
build_new_version() {
	local base n=1 v
	base=$(date -u +%Y%m%dT%H%M%SZ)
	v=$base
	while [ -e "$1/$v" ] || [ -e "$1/.build-$v" ]; do
		n=$((n + 1))
		v=$base-$n
	done
	printf '%s\n' "$v"
}

# build_unmount_under DIR: unmounts whatever is mounted below DIR (deepest
# first), so rm -rf never walks into a bind mount of the host.
build_unmount_under() {
	local dir m
	dir=$(readlink -f -- "$1") || return 0
	awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | LC_ALL=C sort -r |
		while read -r m; do
			umount -- "$m" 2>/dev/null || umount -l -- "$m"
		done
}

build_cleanup() {
	local stage=$1
	[ -d "$stage" ] || return 0
	build_unmount_under "$stage"
	if [ -f "$stage/build.log" ]; then
		rootfs_log "build failed; last lines of $stage/build.log:"
		tail -n 25 "$stage/build.log" >&2
	fi
	rm -rf --one-file-system -- "$stage"
	rootfs_log "removed the incomplete build $stage"
}

# build_remove_stale_staging TEMPLATE_DIR: leftovers of a killed build (the
# caller holds the template's lock, so none is in progress).
build_remove_stale_staging() {
	local d
	for d in "$1"/.build-*; do
		[ -d "$d" ] || continue
		rootfs_log "removing stale staging directory $d"
		build_unmount_under "$d"
		rm -rf --one-file-system -- "$d"
	done
}

# build_host_mirror SUITE: the first archive URL the host's apt sources use
# for SUITE (component main), from one-line and deb822 (.sources) files.
build_host_mirror() {
	local suite=$1 f url
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		url=$(awk -v want="$suite" '
			function found(u) { sub(/\/+$/, "", u); print u; done = 1; exit }
			/^[ \t]*#/ { next }
			# one-line format: deb [opts] URI SUITE COMPONENTS...
			$1 == "deb" {
				i = 2
				if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
				if ($(i + 1) == want) for (j = i + 2; j <= NF; j++) if ($j == "main") found($i)
				next
			}
			# deb822 format: paragraphs of "Field: value" lines
			/^[ \t]*$/ { flush(); next }
			{ key = tolower($1); $1 = ""; fields[key] = fields[key] $0 }
			function flush(   n, u, s, k, c) {
				if (fields["types:"] ~ /(^| )deb( |$)/ && fields["enabled:"] !~ /no/) {
					n = split(fields["suites:"], s, " ")
					for (k = 1; k <= n; k++) if (s[k] == want) {
						split(fields["uris:"], u, " ")
						if (fields["components:"] ~ /(^| )main( |$)/) found(u[1])
					}
				}
				delete fields
			}
			END { if (!done) flush() }' "$f")
		if [ -n "$url" ]; then
			printf '%s\n' "$url"
			return 0
		fi
	done
	return 1
}

build_cache_dir() {
	local cache=${ROOTFS_CACHE_DIR:-/var/cache/sandbox-fcgi/debs}
	[ "$cache" != none ] || return 1
	mkdir -p -- "$cache" && printf '%s\n' "$cache"
}

# build_cache_locked CMD...: runs CMD holding the .deb cache's lock. Builds
# of different templates may run at once (each holds only its template's
# lock), but they share the cache as debootstrap's --cache-dir and as apt's
# archives directory, where two apt-gets collide on apt's own lock.
build_cache_locked() {
	local cache
	if cache=$(build_cache_dir); then
		(flock -w 1800 8 || { echo "build-rootfs.sh: the .deb cache $cache stayed locked" >&2; exit 1; }
		 "$@") 8>"$cache/.lock"
	else
		"$@"
	fi
}

# build_debootstrap TREE SUITE MIRROR
build_debootstrap() {
	local tree=$1 suite=$2 mirror=$3 log cache
	local -a opts=(--variant=minbase --components=main)
	log=$(dirname "$tree")/build.log
	if cache=$(build_cache_dir); then
		opts+=("--cache-dir=$cache")
	fi
	rootfs_log "debootstrap $suite (minbase)"
	build_cache_locked debootstrap "${opts[@]}" "$suite" "$tree" "$mirror" >>"$log" 2>&1 ||
		rootfs_die "debootstrap failed (see the log above)"
}

# build_chroot TREE CMD...: runs CMD in TREE with a clean environment.
build_chroot() {
	local tree=$1
	shift
	chroot "$tree" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# build_no_symlink_path TREE REL: refuses a path inside TREE that crosses a
# symlink, so that writing it can never land on the host (an absolute
# symlink in the tree resolves against the host's root outside a chroot).
build_no_symlink_path() {
	local tree=$1 rel=$2 p=$1 part
	local IFS=/
	for part in $rel; do
		[ -n "$part" ] || continue
		p=$p/$part
		if [ -L "$p" ]; then
			[ "$p" = "$tree/$rel" ] && return 0   # the file itself may be replaced
			rootfs_die "'$rel' crosses the symlink '${p#"$tree"}' in the tree"
		fi
	done
}

# build_put TREE REL MODE: writes stdin to TREE/REL (replacing a symlink).
build_put() {
	local tree=$1 rel=$2 mode=$3
	build_no_symlink_path "$tree" "$rel"
	mkdir -p -- "$(dirname "$tree/$rel")"
	rm -f -- "$tree/$rel"
	cat >"$tree/$rel"
	chmod "$mode" -- "$tree/$rel"
}

# build_apt_sources TREE SUITE MIRROR SECURITY: the tree's apt sources (the
# same archive as the host's, plus -updates and -security when the host uses
# them, so the build carries current security fixes).
build_apt_sources() {
	local tree=$1 suite=$2 mirror=$3 security=$4
	{
		printf 'deb %s %s main\n' "$mirror" "$suite"
		if build_host_mirror "$suite-updates" >/dev/null; then
			printf 'deb %s %s-updates main\n' "$mirror" "$suite"
		fi
		if [ "$security" != none ]; then
			printf 'deb %s %s-security main\n' "$security" "$suite"
		fi
	} | build_put "$tree" etc/apt/sources.list 0644
}

# build_apt_install TREE PKG...: apt inside the tree, with the .deb cache
# bind-mounted as its archives directory (under build_cache_locked).
build_apt_install() {
	local tree=$1 cache rc
	shift
	cache=$(build_cache_dir) || cache=
	if [ -n "$cache" ]; then
		mount --bind -- "$cache" "$tree/var/cache/apt/archives" || return 1
	fi
	build_chroot "$tree" apt-get -q update &&
	build_chroot "$tree" apt-get -q -y -o Dpkg::Options::=--force-confold upgrade &&
	build_chroot "$tree" apt-get -q -y --no-install-recommends \
		-o Dpkg::Options::=--force-confold install -- "$@"
	rc=$?
	if [ -n "$cache" ]; then
		umount -- "$tree/var/cache/apt/archives" || rc=1
	fi
	return $rc
}

# build_install_packages TREE SUITE MIRROR SECURITY PACKAGES
build_install_packages() {
	local tree=$1 suite=$2 mirror=$3 security=$4 packages=$5 log cache
	local -a pkgs
	log=$(dirname "$tree")/build.log
	mapfile -t pkgs <<<"$packages"
	build_apt_sources "$tree" "$suite" "$mirror" "$security"
	# No documentation, man pages or translations: nothing in a jail reads
	# them and they are a third of a minbase tree.
	build_put "$tree" etc/dpkg/dpkg.cfg.d/90-sandbox-nodoc 0644 <<-'EOF'
		path-exclude=/usr/share/doc/*
		path-include=/usr/share/doc/*/copyright
		path-exclude=/usr/share/man/*
		path-exclude=/usr/share/info/*
		path-exclude=/usr/share/locale/*
		path-include=/usr/share/locale/locale.alias
		path-exclude=/usr/share/lintian/*
	EOF
	# Maintainer scripts must not start services on the build host.
	printf '#!/bin/sh\nexit 101\n' | build_put "$tree" usr/sbin/policy-rc.d 0755
	# apt needs name resolution while building; the overlay empties it later.
	build_put "$tree" etc/resolv.conf 0644 </etc/resolv.conf
	rootfs_log "installing ${#pkgs[@]} packages: ${pkgs[*]}"
	build_cache_locked build_apt_install "$tree" "${pkgs[@]}" >>"$log" 2>&1 ||
		rootfs_die "installing packages failed"
	rm -f -- "$tree/usr/sbin/policy-rc.d"
	# Documentation installed by debootstrap before the exclusions applied.
	find "$tree/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete 2>/dev/null || true
	find "$tree/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
	rm -rf -- "$tree/usr/share/man" "$tree/usr/share/info" "$tree/usr/share/lintian"
	find "$tree/usr/share/locale" -mindepth 1 ! -name locale.alias -delete 2>/dev/null || true
}

# build_copy_overlay SRC TREE: copies SRC's files into TREE, file by file
# (never through a symlink of the tree).
build_copy_overlay() {
	local src=$1 tree=$2 rel mode
	[ -d "$src" ] || return 0
	while IFS= read -r -d '' rel; do
		rel=${rel#./}
		if [ -L "$src/$rel" ]; then
			build_no_symlink_path "$tree" "$rel"
			mkdir -p -- "$(dirname "$tree/$rel")"
			ln -sfn -- "$(readlink -- "$src/$rel")" "$tree/$rel"
		else
			mode=0644
			[ ! -x "$src/$rel" ] || mode=0755
			build_put "$tree" "$rel" "$mode" <"$src/$rel"
		fi
	done < <(cd "$src" && find . \( -type f -o -type l \) -print0)
}

# build_apply_overlay RECIPE TEMPLATE TREE: common/overlay, then the
# template's overlay; then shadow files that match passwd/group and hold no
# password (every account locked).
build_apply_overlay() {
	local recipe=$1 template=$2 tree=$3
	rootfs_log "applying the overlay"
	build_copy_overlay "$recipe/common/overlay" "$tree"
	build_copy_overlay "$recipe/$template/overlay" "$tree"
	build_configure_matplotlib "$tree"
	cut -d: -f1 "$tree/etc/passwd" | sed 's/$/:*:19000:0:99999:7:::/' | build_put "$tree" etc/shadow 0640
	cut -d: -f1 "$tree/etc/group" | sed 's/$/:*::/' | build_put "$tree" etc/gshadow 0640
	rm -f -- "$tree"/etc/passwd- "$tree"/etc/group- "$tree"/etc/shadow- "$tree"/etc/gshadow-
}

# build_compile_warm_boot TREE: the Python warm bootstrap
# (/opt/sandbox/shims/warm.py) byte-compiled by the tree's own python3 to
# warm-HASH.pyc, HASH the first 16 hex digits of the source's SHA-256: the
# responder runs it only when its built-in bootstrap has that hash
# (src/api/warm.c), and saves compiling it in every warm interpreter.
# Unchecked-hash byte code: no timestamp, so the same recipe gives the same
# bytes.  A tree without python3 gets none.
build_compile_warm_boot() {
	local tree=$1 src=/opt/sandbox/shims/warm.py hash
	[ -f "$tree$src" ] || return 0
	if ! build_chroot "$tree" /bin/sh -c 'command -v python3' >/dev/null 2>&1; then
		rootfs_log "no python3: no byte code for $src"
		return 0
	fi
	hash=$(sha256sum <"$tree$src" | cut -c1-16)
	# Recipe data run as root in the new tree at build time, as the
	# version probes; no request data gets here.
	build_chroot "$tree" python3 -c 'import py_compile, sys
py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True,
                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)' \
		"$src" "/opt/sandbox/shims/warm-$hash.pyc" ||
		rootfs_die "cannot byte-compile $src"
	chmod 0644 "$tree/opt/sandbox/shims/warm-$hash.pyc"
	rootfs_log "byte-compiled $src to warm-$hash.pyc"
}

# build_configure_matplotlib TREE: the jail has no display, so matplotlib
# renders with Agg.  Debian's /etc/matplotlibrc (python-data) is also the
# file matplotlib reads its defaults from (mpl-data/matplotlibrc links to
# it), so it is edited, never replaced; elsewhere a one-line file is made.
build_configure_matplotlib() {
	local tree=$1 rc=$1/etc/matplotlibrc
	build_no_symlink_path "$tree" etc/matplotlibrc
	if [ -f "$rc" ] && [ ! -L "$rc" ]; then
		sed -i -E '/^[#[:space:]]*backend[[:space:]]*:/d' "$rc"
		printf '## sandbox: no display in the jail\nbackend: Agg\n' >>"$rc"
	else
		printf '## sandbox: no display in the jail\nbackend: Agg\n' | build_put "$tree" etc/matplotlibrc 0644
	fi
}

# build_probe_versions RECIPE TEMPLATE TREE: "NAME=VALUE" for each
# @NAME@ in the template's runtimes.json.in, from the version probes.
build_probe_versions() {
	local recipe=$1 template=$2 tree=$3 name probe value
	for name in $(grep -o '@[A-Z0-9_]*@' "$recipe/$template/runtimes.json.in" | tr -d @ | LC_ALL=C sort -u); do
		probe=$(build_version_probe "$recipe" "$template" "$name")
		[ -n "$probe" ] || rootfs_die "no version probe for @$name@ in $recipe/common/versions"
		# The probe is recipe data (trusted, like the package list) run as
		# root in the new tree at build time; no request data gets here.
		value=$(build_chroot "$tree" /bin/sh -c "$probe" 2>&1 | head -n 1)
		[[ $value =~ ^[0-9A-Za-z][0-9A-Za-z.+~_-]*$ ]] ||
			rootfs_die "version probe for @$name@ printed '$value', not a version"
		printf '%s=%s\n' "$name" "$value"
	done
}

# build_version_probe RECIPE TEMPLATE NAME: the probe command for NAME; a
# TEMPLATE/versions line overrides common/versions.
build_version_probe() {
	local f cmd probe=
	for f in "$1/common/versions" "$1/$2/versions"; do
		[ -f "$f" ] || continue
		cmd=$(awk -F '\t' -v n="$3" '$1 == n { c = $2 } END { print c }' "$f")
		[ -z "$cmd" ] || probe=$cmd
	done
	printf '%s\n' "$probe"
}

# build_render_runtimes RECIPE TEMPLATE TREE OUT: runtimes.json with the
# detected versions, checked for the fields the responder needs.
build_render_runtimes() {
	local recipe=$1 template=$2 tree=$3 out=$4 kv versions
	local -a subst=()
	rootfs_log "detecting runtime versions"
	versions=$(build_probe_versions "$recipe" "$template" "$tree") || exit 1
	while IFS= read -r kv; do
		[ -n "$kv" ] || continue
		subst+=(-e "s/@${kv%%=*}@/${kv#*=}/g")
		rootfs_log "  ${kv%%=*} = ${kv#*=}"
	done <<<"$versions"
	if [ ${#subst[@]} -gt 0 ]; then
		sed "${subst[@]}" "$recipe/$template/runtimes.json.in"
	else
		cat "$recipe/$template/runtimes.json.in"
	fi | jq --arg t "$template" '
		if .template != $t then error("template is \(.template), expected \($t)")
		elif (.runtimes | type) != "array" or (.runtimes | length) == 0 then error("no runtimes")
		elif [.runtimes[] | select((.name | type) != "string" or (.file | type) != "string"
			or (.run | type) != "array" or (.version | type) != "string"
			or (.version | test("@")))] != [] then error("a runtime lacks name, file, run or version")
		else . end' >"$out" 2>"$out.err" ||
		rootfs_die "bad $recipe/$template/runtimes.json.in: $(cat "$out.err")"
	rm -f -- "$out.err"
}

# build_harden TREE: the rules verify-rootfs.sh checks, applied.
build_harden() {
	local tree=$1 f
	rootfs_log "hardening the tree"
	# Package-manager caches, logs and leftovers.
	rm -rf -- "$tree"/var/cache/apt/* "$tree"/var/lib/apt/lists/*
	rm -f -- "$tree"/var/cache/debconf/*-old "$tree"/var/lib/dpkg/*-old
	find "$tree/var/log" -xdev -type f -delete
	find "$tree/tmp" "$tree/var/tmp" "$tree/root" -xdev -mindepth 1 -delete
	cp -- "$tree/etc/skel/.bashrc" "$tree/etc/skel/.profile" "$tree/root/" 2>/dev/null || true
	# Host identity and secrets: debootstrap copies the host's hostname and
	# resolv.conf (replaced by the overlay); no machine-id, no ssh keys.
	rm -f -- "$tree/var/lib/dbus/machine-id" "$tree"/etc/ssh/ssh_host_*
	: | build_put "$tree" etc/machine-id 0444
	# No special files: the jail bind-mounts the few devices it allows.
	find "$tree" -xdev \( -type b -o -type c -o -type p -o -type s \) -delete
	# No privilege on exec: file capabilities and setuid/setgid bits.
	getcap -r "$tree" 2>/dev/null | while read -r f _; do setcap -r "$f"; done
	find "$tree" -xdev ! -type l -perm /6000 -exec chmod ug-s {} +
	# Everything owned by root and writable by nobody else.
	chown -hR 0:0 -- "$tree"
	find "$tree" -xdev ! -type l -perm /022 -exec chmod go-w {} +
	chmod 0755 -- "$tree/tmp" "$tree/var/tmp"
}

# build_mount_points TREE: what the jail mounts over: directories, empty
# regular files for the device nodes it binds from the host, /dev links.
build_mount_points() {
	local tree=$1 d f
	find "$tree/dev" -xdev -mindepth 1 -delete
	for d in work tmp proc dev dev/shm dev/pts; do
		build_no_symlink_path "$tree" "$d"
		mkdir -p -- "$tree/$d"
		chmod 0755 -- "$tree/$d"
	done
	for f in null zero full random urandom; do
		: | build_put "$tree" "dev/$f" 0444
	done
	ln -s /proc/self/fd "$tree/dev/fd"
	ln -s /proc/self/fd/0 "$tree/dev/stdin"
	ln -s /proc/self/fd/1 "$tree/dev/stdout"
	ln -s /proc/self/fd/2 "$tree/dev/stderr"
}

# build_write_manifest TREE OUT TEMPLATE VERSION RECIPE_HASH SUITE
build_write_manifest() {
	local tree=$1 out=$2 template=$3 version=$4 recipe_hash=$5 suite=$6 hash size rt_hash
	rootfs_log "hashing the tree"
	hash=$(rootfs_content_hash "$tree") || rootfs_die "hashing $tree failed"
	size=$(du -sb -- "$tree" | cut -f1)
	rt_hash=$(sha256sum "$(dirname "$out")/runtimes.json" | cut -d' ' -f1)
	dpkg-query --admindir="$tree/var/lib/dpkg" -W -f '${db:Status-Abbrev}\t${Package}\t${Version}\n' |
		awk -F '\t' '$1 ~ /^ii/ { print $2 "\t" $3 }' |
		jq -R -s --arg template "$template" --arg version "$version" --arg suite "$suite" \
			--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --argjson size "$size" --arg hash "$hash" \
			--arg recipe "$recipe_hash" --arg rt "sha256:$rt_hash" '
			{template: $template, version: $version, build_date: $date, suite: $suite,
			 packages: (split("\n") | map(select(length > 0) | split("\t") | {(.[0]): .[1]}) | add),
			 size_bytes: $size, hash: $hash,
			 hash_covers: "sorted paths, types, modes, owners, symlink targets and file contents of tree/ (not timestamps)",
			 recipe_hash: $recipe, runtimes_hash: $rt}' >"$out" ||
		rootfs_die "writing $out failed"
}
