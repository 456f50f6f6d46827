#!/usr/bin/env bash
# Assemble the kernel tree: pristine Debian linux-source-6.12, plus our
# patch series (patches/series), plus our overlay (Kconfig, Kbuild, mm/,
# rust/, include/).  Incremental: the source is unpacked once, the series is
# re-applied only when it changed (restoring the touched files first), and
# the overlay is synced with rsync so only changed files get new mtimes.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$top/build}
SRC=$B/linux
ORIG=$B/orig		# pristine copies of the files our patches touch
TARBALL=${KERNEL_TARBALL:-/usr/src/linux-source-6.12.tar.xz}

say() { echo "tree: $*"; }
die() { echo "tree: ERROR: $*" >&2; exit 1; }

mkdir -p "$B"

# 1. Unpack once (into a temporary directory, renamed when complete, so an
#    interrupted unpack never leaves a half tree behind).
if [ ! -f "$SRC/.unpacked" ]; then
	[ -f "$TARBALL" ] || die "$TARBALL missing (apt-get install linux-source-6.12)"
	rm -rf "$SRC" "$B/linux.tmp" "$ORIG" "$B/applied.series"
	mkdir -p "$B/linux.tmp"
	say "unpacking $TARBALL (about 30 s)"
	tar -xJf "$TARBALL" -C "$B/linux.tmp" --strip-components=1 ||
		die "unpacking $TARBALL failed"
	mv "$B/linux.tmp" "$SRC"
	dpkg-query -W -f='${Version}\n' linux-source-6.12 >"$SRC/.debian-version" 2>/dev/null || true
	touch "$SRC/.unpacked"
fi
kver=$(make -s -C "$SRC" kernelversion 2>/dev/null || echo unknown)
say "kernel source $kver (Debian linux-source-6.12 $(cat "$SRC/.debian-version" 2>/dev/null || echo '?'))"

# 2. The patch series.  $B/applied.series lists what is applied now.
want=$(cd "$top/patches" && sed -e 's/#.*//' -e '/^[[:space:]]*$/d' series)
want_sum=$( (cd "$top/patches" && for p in $want; do cat "$p"; done) | sha256sum | cut -d' ' -f1)
have_sum=$(cat "$B/applied.sum" 2>/dev/null || true)
if [ "$want_sum" != "$have_sum" ]; then
	# Restore every file an earlier series touched, then apply afresh.
	if [ -d "$ORIG" ]; then
		(cd "$ORIG" && find . -type f -print0) | while IFS= read -r -d '' f; do
			cp -p "$ORIG/$f" "$SRC/$f"
		done
		(cd "$ORIG" && find . -type f -name '*.absent' -print0) | while IFS= read -r -d '' f; do
			rm -f "$SRC/${f%.absent}" "$SRC/$f"
		done
	fi
	rm -f "$B/applied.sum"
	for p in $want; do
		pf="$top/patches/$p"
		[ -f "$pf" ] || die "patches/series names $p, which does not exist"
		if ! out=$(patch -d "$SRC" -p1 -F0 --dry-run --forward --no-backup-if-mismatch <"$pf" 2>&1); then
			echo "$out" | sed 's/^/  /' >&2
			die "patch $p does not apply to linux $kver (failed hunks above)"
		fi
		# Save pristine copies of the files this patch touches.
		for f in $(sed -n 's|^+++ [^/]*/\([^[:space:]]*\).*|\1|p' "$pf"); do
			if [ ! -e "$ORIG/$f" ] && [ ! -e "$ORIG/$f.absent" ]; then
				mkdir -p "$ORIG/$(dirname "$f")"
				if [ -e "$SRC/$f" ]; then cp -p "$SRC/$f" "$ORIG/$f"; else touch "$ORIG/$f.absent"; fi
			fi
		done
		patch -d "$SRC" -p1 -F0 --forward --no-backup-if-mismatch -s <"$pf" ||
			die "patch $p failed after a clean dry run"
		say "applied $p"
	done
	echo "$want_sum" >"$B/applied.sum"
else
	say "patch series up to date ($(echo "$want" | wc -w) patches)"
fi

# 3. The overlay.  Our files are new files in the tree; they never replace an
#    upstream file (edits of upstream files go through the patch series).
cp -p "$top/Kconfig" "$SRC/mm/Kconfig.userfaultfd_rs.new"
cp -p "$top/Kbuild" "$SRC/mm/Kbuild.userfaultfd_rs.new"
for f in Kconfig Kbuild; do
	n=$SRC/mm/$f.userfaultfd_rs
	if cmp -s "$n.new" "$n"; then rm -f "$n.new"; else mv "$n.new" "$n"; fi
done
for d in mm rust include; do
	[ -d "$top/$d" ] || continue
	rsync -a --checksum "$top/$d/" "$SRC/$d/"
done
# Files an earlier overlay added and this one no longer has (moved or
# deleted in the repository) are removed from the tree.
manifest=$B/overlay.files
(cd "$top" && find mm rust include -type f | LC_ALL=C sort) >"$manifest.new"
if [ -f "$manifest" ]; then
	LC_ALL=C comm -23 "$manifest" "$manifest.new" | while IFS= read -r f; do
		rm -f "$SRC/$f"
		say "removed $f (no longer in the overlay)"
	done
fi
mv "$manifest.new" "$manifest"
say "overlay synced"
