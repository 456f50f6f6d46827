#!/usr/bin/env bash
# Configure and build one kernel (IMPL=rust: the product; IMPL=c: the
# upstream C baseline) in build/out-$IMPL, beside the other one, then the
# guest's test programs and its initramfs.  Every step is incremental.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
IMPL=${1:-${IMPL:-rust}}
B=${B:-$top/build}
SRC=$B/linux
OUT=$B/out-$IMPL
JOBS=${JOBS:-$(nproc)}
KMAKE=(make -s -C "$SRC" O="$OUT" LLVM=1 -j"$JOBS")

say() { echo "build[$IMPL]: $*"; }
die() { echo "build[$IMPL]: ERROR: $*" >&2; exit 1; }

case $IMPL in rust|c) ;; *) die "IMPL must be rust or c, not '$IMPL'" ;; esac
for t in clang ld.lld rustc bindgen flex bison bc gcc cpio rsync; do
	command -v $t >/dev/null || die "$t not found: run scripts/deps.sh (make deps)"
done
mkdir -p "$OUT"

# Configuration: tinyconfig + config/base.config + config/$IMPL.config.
# Redone only when a fragment changed.
frags=("$top/config/base.config" "$top/config/$IMPL.config")
sum=$(cat "${frags[@]}" "$top/Kconfig" | sha256sum | cut -d' ' -f1)
if [ ! -f "$OUT/.config" ] || [ "$(cat "$OUT/.config.frag-sum" 2>/dev/null)" != "$sum" ]; then
	say "configuring (tinyconfig + ${frags[*]##*/})"
	rm -f "$OUT/.config.frag-sum"
	"${KMAKE[@]}" rustavailable >/dev/null 2>&1 ||
		{ "${KMAKE[@]}" rustavailable || true; die "the kernel says Rust is not available (see above)"; }
	"${KMAKE[@]}" tinyconfig >/dev/null
	(cd "$OUT" && KCONFIG_CONFIG=.config "$SRC/scripts/kconfig/merge_config.sh" -m -O "$OUT" \
		.config "${frags[@]}" >/dev/null)
	"${KMAKE[@]}" olddefconfig >/dev/null
	bad=0
	while read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qx "$line" "$OUT/.config" || { echo "  wanted $line, got: $(grep "^${line%%=*}=" "$OUT/.config" || echo 'not set')" >&2; bad=1; } ;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }; opt=${opt%% *}
			grep -q "^$opt=" "$OUT/.config" && { echo "  wanted $opt off, got: $(grep "^$opt=" "$OUT/.config")" >&2; bad=1; } ;;
		esac
	done < <(cat "${frags[@]}")
	[ $bad = 0 ] || die "the config fragments did not take (a dependency is missing, see above)"
	echo "$sum" >"$OUT/.config.frag-sum"
fi

say "building bzImage with LLVM=1 -j$JOBS"
"${KMAKE[@]}" bzImage || die "kernel build failed"
"${KMAKE[@]}" headers_install INSTALL_HDR_PATH="$OUT/hdr" >/dev/null || die "headers_install failed"

say "building the guest's test programs"
make -s -C "$top/tools/testing/selftests/vm" O="$OUT/tests" KSRC="$SRC" KHDR="$OUT/hdr/include" ||
	die "building the test programs failed"

"$top/scripts/initramfs.sh" "$IMPL" || die "building the initramfs failed"
say "ready: $OUT/arch/x86/boot/bzImage ($(cat "$OUT/include/config/kernel.release"))"
