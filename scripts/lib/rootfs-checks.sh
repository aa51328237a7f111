# scripts/lib/rootfs-checks.sh - the hardening rules of a built RootFS, as
# checks.  Each check_* function reports every violation with vfail (one
# clear line each, a few examples at most) and returns nothing useful: the
# caller looks at VERIFY_FAILED.  Needs rootfs-common.sh.

VERIFY_FAILED=0
VERIFY_PASSED=0

vfail() { VERIFY_FAILED=$((VERIFY_FAILED + 1)); printf 'FAIL: %s\n' "$*"; }
vpass() { VERIFY_PASSED=$((VERIFY_PASSED + 1)); printf 'ok:   %s\n' "$*"; }

# vexpect_none WHAT CMD...: passes when CMD prints nothing, else fails with
# WHAT and the first few lines it printed.
vexpect_none() {
	local what=$1 out
	shift
	out=$("$@" 2>&1 | head -n 6)
	if [ -z "$out" ]; then
		vpass "no $what"
	else
		vfail "$what found:"$'\n'"$(printf '%s\n' "$out" | sed 's/^/      /')"
	fi
}

# vexisting PATH...: prints those that exist (or are dangling links).
vexisting() {
	local p
	for p in "$@"; do
		if [ -e "$p" ] || [ -L "$p" ]; then printf '%s\n' "$p"; fi
	done
}

# vnonempty PATH...: prints those that are non-empty files.
vnonempty() {
	local p
	for p in "$@"; do
		if [ -s "$p" ]; then printf '%s\n' "$p"; fi
	done
}

check_manifest() {
	local vdir=$1 m=$1/manifest.json
	if ! jq -e . "$m" >/dev/null 2>&1; then
		vfail "$m is missing or not valid JSON"
		return
	fi
	if jq -e --arg v "$(basename "$vdir")" '
		(.template | type) == "string" and .version == $v and (.build_date | type) == "string"
		and (.packages | type) == "object" and (.packages | length) > 0
		and (.size_bytes | type) == "number"
		and (.hash | type) == "string" and (.hash | test("^sha256:[0-9a-f]{64}$"))' "$m" >/dev/null; then
		vpass "manifest.json has template, version, build_date, packages, size_bytes, hash"
	else
		vfail "$m lacks a field (template, version = directory name, build_date, packages, size_bytes, hash sha256:...)"
	fi
}

check_runtimes() {
	local vdir=$1 r=$1/runtimes.json template
	template=$(jq -r '.template // ""' "$vdir/manifest.json" 2>/dev/null)
	if ! jq -e . "$r" >/dev/null 2>&1; then
		vfail "$r is missing or not valid JSON"
		return
	fi
	if jq -e --arg t "$template" '
		def strs: type == "array" and length > 0 and all(.[]; type == "string");
		.template == $t and (.runtimes | type) == "array" and (.runtimes | length) > 0
		and all(.runtimes[];
			(.name | type) == "string" and (.file | type) == "string" and (.file | test("^[A-Za-z0-9._-]+$"))
			and (.version | type) == "string" and (.version | test("@") | not) and (.version != "")
			and (.run | strs)
			and (.handler == null or (.handler | strs))
			and (.compile == null or (.compile.argv | strs)))
		and ([.runtimes[].name] | length) == ([.runtimes[].name] | unique | length)' "$r" >/dev/null; then
		vpass "runtimes.json lists $(jq '.runtimes | length' "$r") runtimes: $(jq -r '[.runtimes[] | "\(.name) \(.version)"] | join(", ")' "$r")"
	else
		vfail "$r is malformed (template must be '$template'; each runtime needs a unique name, a plain file name, a detected version and run argv)"
	fi
}

# The version dir and its metadata steer what the responder runs: nobody
# but root may change them.
check_metadata_perms() {
	local vdir=$1
	vexpect_none "metadata not owned by root or writable by group/others" \
		find "$vdir" "$vdir/manifest.json" "$vdir/runtimes.json" "$(dirname "$vdir")" -maxdepth 0 \
		\( ! -uid 0 -o -perm /022 \) -printf '%p (%u, %m)\n'
}

check_ownership() {
	vexpect_none "files not owned by root:root" \
		find "$1" -xdev \( ! -uid 0 -o ! -gid 0 \) -printf '%P (%U:%G)\n'
}

check_setid() {
	vexpect_none "setuid/setgid files" find "$1" -xdev ! -type l -perm /6000 -printf '%P (%m)\n'
}

check_special_files() {
	vexpect_none "device nodes, FIFOs or sockets" \
		find "$1" -xdev \( -type b -o -type c -o -type p -o -type s \) -printf '%P (type %y)\n'
}

check_writable() {
	vexpect_none "group- or world-writable files or directories" \
		find "$1" -xdev ! -type l -perm /022 -printf '%P (%m)\n'
}

check_file_caps() {
	if ! command -v getcap >/dev/null 2>&1; then
		vfail "getcap not found, cannot check file capabilities (apt-get install libcap2-bin)"
		return
	fi
	vexpect_none "files with capabilities" getcap -r "$1"
}

check_package_caches() {
	local t=$1
	vexpect_none "package-manager caches or lists" \
		find "$t/var/cache/apt" "$t/var/lib/apt/lists" -xdev -type f -printf '%P\n' 2>/dev/null
	vexpect_none "build leftovers (/debootstrap, policy-rc.d)" vexisting "$t/debootstrap" "$t/usr/sbin/policy-rc.d"
}

# Locked accounts only: the second field of shadow/gshadow starts with * or !.
check_shadow() {
	local t=$1 f
	for f in etc/shadow etc/gshadow; do
		if [ -f "$t/$f" ]; then
			vexpect_none "password hashes in /$f" awk -F: '$2 != "" && $2 !~ /^[*!]/ { print FILENAME ": " $1 }' "$t/$f"
		fi
	done
}

check_host_secrets() {
	local t=$1 host_id host_name
	check_shadow "$t"
	vexpect_none "machine-id content" vnonempty "$t/etc/machine-id" "$t/var/lib/dbus/machine-id"
	vexpect_none "ssh keys or .ssh directories" \
		find "$t" -xdev \( -name 'ssh_host_*key*' -o -name .ssh -o -name 'id_rsa*' -o -name 'id_ed25519*' -o -name 'id_ecdsa*' \) -printf '%P\n'
	vexpect_none "private keys in /etc, /root, /home, /var, /opt, /work" \
		grep -rlsI --exclude-dir=proc -e '-----BEGIN [A-Z ]*PRIVATE KEY-----' "$t/etc" "$t/root" "$t/home" "$t/var" "$t/opt" "$t/work"
	vexpect_none "shell histories" find "$t/root" "$t/home" "$t/work" -xdev -name '.*_history' 2>/dev/null
	if [ -s "$t/etc/resolv.conf" ]; then
		vfail "/etc/resolv.conf is not empty (a copy of the host's?)"
	else
		vpass "/etc/resolv.conf is empty"
	fi
	host_id=$(cat /etc/machine-id 2>/dev/null || true)
	if [ -n "$host_id" ] && grep -rqsF -- "$host_id" "$t/etc" "$t/var/lib"; then
		vfail "the host's machine-id appears under /etc or /var/lib of the tree"
	fi
	host_name=$(hostname 2>/dev/null || true)
	if [ -n "$host_name" ] && [ "$host_name" != sandbox ] && [ "$host_name" != localhost ] &&
		grep -qsxF -- "$host_name" "$t/etc/hostname"; then
		vfail "/etc/hostname is the host's name ($host_name)"
	fi
}

check_accounts() {
	local t=$1
	if grep -qx 'sandbox:x:1000:1000:[^:]*:/work:[^:]*' "$t/etc/passwd" 2>/dev/null &&
		grep -qx 'sandbox:x:1000:.*' "$t/etc/group" 2>/dev/null &&
		grep -q '^root:x:0:0:' "$t/etc/passwd" && grep -q '^root:x:0:' "$t/etc/group"; then
		vpass "passwd/group: root, sandbox 1000:1000 with home /work"
	else
		vfail "/etc/passwd or /etc/group lacks root or 'sandbox' (uid/gid 1000, home /work)"
	fi
	vexpect_none "other accounts with uid 0" awk -F: '$3 == 0 && $1 != "root" { print $1 }' "$t/etc/passwd"
}

check_mount_points() {
	local t=$1 d f l want bad=()
	for d in work tmp proc dev dev/shm dev/pts; do
		[ -d "$t/$d" ] && [ ! -L "$t/$d" ] || bad+=("/$d is not a directory")
	done
	for d in proc dev/shm dev/pts; do
		[ -z "$(ls -A "$t/$d" 2>/dev/null)" ] || bad+=("/$d is not empty")
	done
	for f in null zero full random urandom; do
		[ -f "$t/dev/$f" ] && [ ! -L "$t/dev/$f" ] && [ ! -s "$t/dev/$f" ] || bad+=("/dev/$f is not an empty regular file")
	done
	for l in fd:/proc/self/fd stdin:/proc/self/fd/0 stdout:/proc/self/fd/1 stderr:/proc/self/fd/2; do
		want=${l#*:}
		[ "$(readlink "$t/dev/${l%%:*}" 2>/dev/null)" = "$want" ] || bad+=("/dev/${l%%:*} is not a link to $want")
	done
	if [ ${#bad[@]} -eq 0 ]; then
		vpass "mount points: /work /tmp /proc /dev /dev/shm /dev/pts, /dev placeholders and links"
	else
		vfail "mount points: $(printf '%s; ' "${bad[@]}")"
	fi
}

check_recipe_files() {
	local t=$1 bad=()
	[ -f "$t/opt/sandbox/shims/handler.py" ] || bad+=("/opt/sandbox/shims/handler.py missing")
	[ -f "$t/opt/sandbox/shims/handler.js" ] || bad+=("/opt/sandbox/shims/handler.js missing")
	[ -f "$t/opt/sandbox/shims/warm.js" ] || bad+=("/opt/sandbox/shims/warm.js (node's warm start) missing")
	if [ ! -f "$t/opt/sandbox/shims/warm.py" ]; then
		bad+=("/opt/sandbox/shims/warm.py (python's warm start) missing")
	elif [ -x "$t/usr/bin/python3" ]; then
		local h
		h=$(sha256sum <"$t/opt/sandbox/shims/warm.py" | cut -c1-16)
		[ -f "$t/opt/sandbox/shims/warm-$h.pyc" ] ||
			bad+=("/opt/sandbox/shims/warm-$h.pyc (python's warm start, byte-compiled) missing")
	fi
	[ -d "$t/usr/lib/locale/C.utf8" ] || bad+=("locale C.UTF-8 missing")
	grep -qs '^LANG=C.UTF-8' "$t/etc/default/locale" || bad+=("/etc/default/locale does not set LANG=C.UTF-8")
	grep -qsx "backend: Agg" "$t/etc/matplotlibrc" || bad+=("/etc/matplotlibrc does not set backend Agg")
	grep -qs '^127\.0\.0\.1[[:space:]]\+localhost' "$t/etc/hosts" || bad+=("/etc/hosts lacks localhost")
	if [ ${#bad[@]} -eq 0 ]; then
		vpass "handler shims, python and node warm starts, C.UTF-8 locale, matplotlibrc, hosts"
	else
		vfail "recipe files: $(printf '%s; ' "${bad[@]}")"
	fi
}

# The tree must still be what the build recorded.
check_content_hash() {
	local vdir=$1 want have
	want=$(jq -r '.hash // ""' "$vdir/manifest.json" 2>/dev/null)
	have=$(rootfs_content_hash "$vdir/tree")
	if [ "$want" = "$have" ]; then
		vpass "content hash matches the manifest ($have)"
	else
		vfail "content hash $have differs from the manifest's ${want:-(none)}: the tree changed after the build"
	fi
}

# check_hardening VERSION_DIR: every rule above.
check_hardening() {
	local vdir=$1 tree=$1/tree
	check_manifest "$vdir"
	check_runtimes "$vdir"
	check_metadata_perms "$vdir"
	check_ownership "$tree"
	check_setid "$tree"
	check_special_files "$tree"
	check_writable "$tree"
	check_file_caps "$tree"
	check_package_caches "$tree"
	check_host_secrets "$tree"
	check_accounts "$tree"
	check_mount_points "$tree"
	check_recipe_files "$tree"
	check_content_hash "$vdir"
}
