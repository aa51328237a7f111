#!/bin/bash
# mkroot-host.sh DEST - a throwaway RootFS for jail tests, made of hard links
# to the host's /usr (same filesystem, so it takes a second and no space).
# Real deployments use scripts/build-rootfs.sh; this exists so the jail's
# tests can run before (or without) a debootstrap tree.
set -euo pipefail
dest=${1:?usage: mkroot-host.sh DEST}
tree="$dest/tree"
[ -e "$tree/.ready" ] && exit 0
rm -rf "$tree"
mkdir -p "$tree"/{usr/lib,usr/share,work,tmp,proc,dev/shm,dev/pts,etc}
for d in bin sbin lib/x86_64-linux-gnu lib/python3 lib/python3.11 lib/node_modules share/nodejs lib64 share/zoneinfo; do
  [ -e "/usr/$d" ] && cp -al "/usr/$d" "$tree/usr/$d"
done
# No setuid/setgid files in a RootFS, not even as hard links.
find "$tree/usr" -xdev -type f -perm /6000 -delete
ln -s usr/bin "$tree/bin"; ln -s usr/sbin "$tree/sbin"
ln -s usr/lib "$tree/lib"; ln -s usr/lib64 "$tree/lib64"
for n in null zero full random urandom; do : > "$tree/dev/$n"; chmod 0444 "$tree/dev/$n"; done
ln -s /proc/self/fd "$tree/dev/fd"
printf 'root:x:0:0:root:/root:/bin/bash\nsandbox:x:1000:1000:sandbox:/work:/bin/bash\n' > "$tree/etc/passwd"
printf 'root:x:0:\nsandbox:x:1000:\n' > "$tree/etc/group"
: > "$tree/etc/resolv.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$tree/etc/hosts"
cp /etc/ld.so.cache "$tree/etc/" 2>/dev/null || true
chmod 0755 "$tree"
touch "$tree/.ready"
