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
# Both kernels are built by LLVM 22 (clang-22, ld.lld-22, llvm-link-22 from
# Debian's packages), the LLVM of rustc 1.95, so that the Rust objects can
# be compiled through bitcode with the C helpers inlined
# (CONFIG_USERFAULTFD_RUST_INLINE_C); bindgen uses libclang 22 too.
KLLVM=${KLLVM:--22}
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm${KLLVM}/lib}
KMAKE=(make -s -C "$SRC" O="$OUT" LLVM="$KLLVM" -j"$JOBS")

say() { echo "build[$IMPL]: $*"; }
die() { echo "build[$IMPL]: ERROR: $*" >&2; exit 1; }

# IMPL=<impl>-defconfig: the same kernel on x86_64_defconfig with
# config/distro.config, instead of tinyconfig.
base=tinyconfig
frag=$IMPL
case $IMPL in
*-defconfig) base=defconfig; frag=${IMPL%-defconfig} ;;
esac
[ -f "$top/config/$frag.config" ] ||
	die "IMPL must name a config/<IMPL>.config (rust, c, rust-nowp, rust-lockdep, c-lockdep, rust-kasan, c-kasan), optionally with -defconfig, not '$IMPL'"
for t in clang$KLLVM ld.lld$KLLVM llvm-link$KLLVM rustc bindgen flex bison bc gcc cpio rsync; do
	command -v $t >/dev/null || die "$t not found: run scripts/deps.sh (make deps)"
done
mkdir -p "$OUT"

# Configuration: tinyconfig (or defconfig) + config/base.config (+
# config/distro.config) + config/$IMPL.config.  Redone only when a fragment
# changed.
frags=("$top/config/base.config" "$top/config/$frag.config")
[ $base = defconfig ] && frags=("$top/config/base.config" "$top/config/distro.config" "$top/config/$frag.config")
sum=$( (echo "LLVM=$KLLVM"; if [ $base = defconfig ]; then echo $base; fi; cat "${frags[@]}" "$top/Kconfig") |
	sha256sum | cut -d' ' -f1)
if [ ! -f "$OUT/.config" ] || [ "$(cat "$OUT/.config.frag-sum" 2>/dev/null)" != "$sum" ]; then
	say "configuring ($base + ${frags[*]##*/})"
	rm -f "$OUT/.config.frag-sum"
	"${KMAKE[@]}" rustavailable >/dev/null 2>&1 ||
		{ "${KMAKE[@]}" rustavailable || true; die "the kernel says Rust is not available (see above)"; }
	"${KMAKE[@]}" $base >/dev/null
	(cd "$OUT" && KCONFIG_CONFIG=.config "$SRC/scripts/kconfig/merge_config.sh" -m -O "$OUT" \
		.config "${frags[@]}" >/dev/null)
	"${KMAKE[@]}" olddefconfig >/dev/null
	# The value each fragment line asks for; a later fragment wins.
	bad=0
	while read -r opt want; do
		got=$(grep -E "^$opt=|^# $opt is not set" "$OUT/.config" || true)
		case $want in
		n) [ -z "$got" ] || [ "${got#\#}" != "$got" ] ||
			{ echo "  wanted $opt off, got: $got" >&2; bad=1; } ;;
		*) [ "$got" = "$opt=$want" ] ||
			{ echo "  wanted $opt=$want, got: ${got:-not set}" >&2; bad=1; } ;;
		esac
	done < <(cat "${frags[@]}" | sed -n -e 's/^\(CONFIG_[A-Za-z0-9_]*\)=\(.*\)$/\1 \2/p' \
		-e 's/^# \(CONFIG_[A-Za-z0-9_]*\) is not set$/\1 n/p' |
		awk '{ v[$1] = $2; if (!($1 in o)) { o[$1] = n++ ; k[o[$1]] = $1 } }
		     END { for (i = 0; i < n; i++) print k[i], v[k[i]] }')
	[ $bad = 0 ] || die "the config fragments did not take (a dependency is missing, see above)"
	echo "$sum" >"$OUT/.config.frag-sum"
fi

# kbuild's own lines, condensed: a progress line every 250 objects (with
# the directory it is in) instead of minutes of silence on a first build;
# warnings and errors come through as they are.
progress() {
	awk -v p="build[$IMPL]:" '
	/^  [A-Z0-9_]+ +[^ ]/ {
		n++
		if (n % 250 == 0) {
			split($NF, d, "/")
			printf "%s %d objects built, now in %s/\n", p, n, d[1] (d[2] != "" && d[3] != "" ? "/" d[2] : "")
			fflush()
		}
		next
	}
	/^make(\[[0-9]+\])?: (Entering|Leaving) directory/ { next }
	{ print; fflush() }
	END { if (n) printf "%s %d objects built\n", p, n }'
}
say "building bzImage with LLVM=$KLLVM -j$JOBS"
make -C "$SRC" O="$OUT" LLVM="$KLLVM" -j"$JOBS" bzImage 2>&1 | progress
[ "${PIPESTATUS[0]}" = 0 ] || die "kernel build failed"
"${KMAKE[@]}" headers_install INSTALL_HDR_PATH="$OUT/hdr" >/dev/null || die "headers_install failed"

say "building the guest's test programs"
make -s -C "$top/tools/testing/selftests/vm" -f guest.mk O="$OUT/tests" KSRC="$SRC" KHDR="$OUT/hdr/include" ||
	die "building the test programs failed"

say "building the Rust example on the userfaultfd crate (examples/uffd-rust)"
B="$B" JOBS="$JOBS" "$top/scripts/example.sh" "$IMPL" || die "building examples/uffd-rust failed"

"$top/scripts/initramfs.sh" "$IMPL" || die "building the initramfs failed"
say "ready: $OUT/arch/x86/boot/bzImage ($(cat "$OUT/include/config/kernel.release"))"
