#!/usr/bin/env bash
# Build the Rust userfaultfd example (examples/uffd-rust, on the crates.io
# `userfaultfd` crate) as a static binary into
# $OUT/tests/examples/uffd-rust, for the guest.  Incremental (cargo's own);
# its crates are fetched once (cargo fetch, into CARGO_HOME) and the build
# is offline after that.  The binary does not depend on the kernel: one
# cargo target directory serves every IMPL.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
IMPL=${1:-${IMPL:-rust}}
B=${B:-$top/build}
OUT=$B/out-$IMPL
JOBS=${JOBS:-$(nproc)}
EX=$top/examples/uffd-rust
# The target is in the example's .cargo/config.toml, with the flag that
# makes the binary static (+crt-static); RUSTFLAGS would override it.
TARGET=x86_64-unknown-linux-gnu
export CARGO_TARGET_DIR=$B/examples-target
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_TARGET

say() { echo "example[$IMPL]: $*"; }
die() { echo "example[$IMPL]: ERROR: $*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo not found"
cd "$EX"
if ! cargo fetch --locked --offline -q 2>/dev/null; then
	say "fetching the example's crates from crates.io (once)"
	cargo fetch --locked -q || die "cargo fetch failed"
fi
# userfaultfd-sys runs bindgen (libclang, libclang-dev) on
# <linux/userfaultfd.h> (linux-libc-dev) at build time.
cargo build --release --locked --offline -q -j"$JOBS" || die "cargo build of examples/uffd-rust failed"

bin=$CARGO_TARGET_DIR/$TARGET/release/uffd-rust
! readelf -l "$bin" | grep -q INTERP || die "$bin is dynamically linked (RUSTFLAGS set in a cargo config?)"
mkdir -p "$OUT/tests/examples"
cmp -s "$bin" "$OUT/tests/examples/uffd-rust" || install -m 755 "$bin" "$OUT/tests/examples/uffd-rust"
