#!/usr/bin/env bash
# Builds the small Linux guest that the session tests boot in place of the
# Windows studio and clients: Debian's kernel (linux-image-amd64, fetched
# with `apt-get download` and unpacked, never installed on the host), an
# initramfs of busybox-static plus the virtio_net and e1000e modules, and an
# init script that configures every NIC from its MAC address, runs the
# network checks itself and prints "RIG ..." result lines on the serial
# console (see init.sh).
#
#   build-guest.sh OUTDIR
#
# Writes OUTDIR/vmlinuz and OUTDIR/initrd.img (and OUTDIR/kernel-version);
# does nothing when they are newer than this script and init.sh.  Needs
# busybox-static, cpio and apt's package lists (ci/setup).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-guest.sh OUTDIR}
modules=(virtio_pci virtio_net e1000e)

die()
{
    printf 'build-guest.sh: error: %s\n' "$*" >&2
    exit 2
}

command -v cpio >/dev/null || die "cpio missing: apt-get install cpio"
busybox=/bin/busybox
# Not grep -q: it exits at the first match, and under pipefail the SIGPIPE
# of busybox would fail the check.
[ -x "$busybox" ] && "$busybox" --list | grep -x insmod >/dev/null ||
    die "busybox-static missing: apt-get install busybox-static"

mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ] &&
    [ "$out/initrd.img" -nt "$here/init.sh" ] &&
    [ "$out/initrd.img" -nt "$0" ]; then
    exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/rig-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The kernel package linux-image-amd64 currently points to.
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || die "apt knows no linux-image-amd64: run apt-get update"
echo "build-guest.sh: fetching $pkg" >&2
(cd "$work" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
    die "apt-get download $pkg failed"
dpkg-deb -x "$work"/"$pkg"_*.deb "$work/pkg"
kver=$(ls "$work/pkg/lib/modules")
moddir=$work/pkg/lib/modules/$kver

# Module files in load order: dependencies first.
declare -A seen=()
order=()
resolve()
{
    local name=$1 path dep
    [ -n "${seen[$name]:-}" ] && return 0
    seen[$name]=1
    path=$(find "$moddir/kernel" -name "$name.ko" -o -name "${name//_/-}.ko" |
        head -n 1)
    [ -n "$path" ] || return 0 # built in
    # The .modinfo section holds NUL-separated "depends=a,b" strings.
    for dep in $(tr '\0' '\n' <"$path" | sed -n 's/^depends=//p' |
        tr ',' ' '); do
        resolve "$dep"
    done
    order+=("$path")
}
for m in "${modules[@]}"; do
    resolve "$m"
done

root=$work/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,modules,etc}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
    # The list names busybox itself: a link would replace the binary.
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
: >"$root/modules/order"
for path in "${order[@]}"; do
    cp "$path" "$root/modules/"
    basename "$path" >>"$root/modules/order"
done
install -m 0755 "$here/init.sh" "$root/init"

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) |
    gzip -9 >"$work/initrd.img"
cp "$work/pkg/boot/vmlinuz-$kver" "$work/vmlinuz"
mv "$work/vmlinuz" "$out/vmlinuz"
mv "$work/initrd.img" "$out/initrd.img"
echo "$kver" >"$out/kernel-version"
echo "build-guest.sh: $out/vmlinuz ($kver), initrd with: $(tr '\n' ' ' <"$root/modules/order")" >&2
