#!/usr/bin/env bash
# Pack the guest's initramfs: busybox, scripts/guest-init.sh as /init, and the
# test programs built by scripts/build.sh.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
IMPL=${1:?usage: initramfs.sh rust|c}
B=${B:-$top/build}
OUT=$B/out-$IMPL
R=$OUT/initramfs.root

BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] || BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || { echo "initramfs: busybox not found (apt-get install busybox-static)" >&2; exit 1; }
command -v file >/dev/null && file -L "$BUSYBOX" 2>/dev/null | grep -q "dynamically linked" &&
	{ echo "initramfs: $BUSYBOX is dynamically linked; install busybox-static" >&2; exit 1; }

rm -rf "$R"
mkdir -p "$R"/{bin,dev,proc,sys,tmp,tests}
cp "$BUSYBOX" "$R/bin/busybox"
ln -s busybox "$R/bin/sh"
cp "$top/scripts/guest-init.sh" "$R/init"
chmod +x "$R/init"
cp -r "$OUT/tests/." "$R/tests/"
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1) >"$OUT/initramfs.cpio.gz.tmp"
mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
