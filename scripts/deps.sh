#!/usr/bin/env bash
# Install what the build and the guest need, skipping what is already here.
# Idempotent: safe to run again after an interruption.
set -euo pipefail

# 0.72.1 at least with libclang 22 (older ones give opaque structs).
BINDGEN_VERSION=0.72.1
# clang-22, lld-22, llvm-22 and libclang1-22 (Debian 12's security
# archive): the LLVM of rustc 1.95, for both kernels (scripts/build.sh).
APT_PKGS="linux-source-6.12 qemu-system-x86 clang-22 lld-22 llvm-22 libclang1-22
	clang llvm lld libclang-dev flex bison bc
	libelf-dev libssl-dev cpio busybox-static bash-static kmod rsync xz-utils gcc make
	python3 patch git perl libc6-dev"

say() { echo "deps: $*"; }
die() { echo "deps: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || SUDO=sudo
SUDO=${SUDO:-}

missing=""
for p in $APT_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	say "installing Debian packages:$missing"
	$SUDO apt-get update -qq || die "apt-get update failed"
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
		die "apt-get install failed for:$missing"
else
	say "Debian packages present"
fi

command -v rustup >/dev/null || die "rustup not found (the machine's Rust toolchain is expected)"
if rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	say "rust-src present"
else
	say "installing rustup component rust-src"
	rustup component add rust-src || die "rustup component add rust-src failed"
fi

if command -v bindgen >/dev/null && bindgen --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
	say "bindgen $BINDGEN_VERSION present"
else
	say "installing bindgen-cli $BINDGEN_VERSION from crates.io (about 2 minutes)"
	cargo install --locked "bindgen-cli@$BINDGEN_VERSION" ||
		die "cargo install bindgen-cli@$BINDGEN_VERSION failed"
fi

# The crates of examples/uffd-rust (Cargo.lock), into CARGO_HOME: its build
# (scripts/example.sh) is offline.  Statically linked with libc6-dev's libc.a.
ex=$(cd "$(dirname "$0")/.." && pwd)/examples/uffd-rust
if (cd "$ex" && cargo fetch --locked --offline -q 2>/dev/null); then
	say "crates of examples/uffd-rust present"
else
	say "fetching the crates of examples/uffd-rust from crates.io"
	(cd "$ex" && cargo fetch --locked -q) || die "cargo fetch in examples/uffd-rust failed"
fi
say "done"
