# SPDX-License-Identifier: GPL-2.0
#
# CONFIG_USERFAULTFD_RUST_INLINE_C: the rustc flags of the Rust objects
# that link the C bitcode (rust/kernel.o, mm/userfaultfd_rs/userfaultfd_rs.o;
# included by inline_c.mk and mm/userfaultfd_rs/Makefile).  LLVM inlines a
# C function into a Rust caller only if the caller's target CPU features
# are a superset of the callee's; rustc builds for "generic", clang for
# x86-64 C without -march (CONFIG_GENERIC_CPU) for "x86-64", whose features
# "generic" lacks.  So those objects are built for the C's CPU.  The other
# x86-64 CPU choices (MK8, MPSC, MCORE2, MATOM) already give rustc the
# CPU of the C's -march (arch/x86/Makefile).  On other architectures rustc
# keeps its default; where that differs from the C's, LLVM does not inline
# the C, which costs speed, not correctness.

uffd-rs-inline-rustflags :=
ifdef CONFIG_X86_64
ifdef CONFIG_GENERIC_CPU
uffd-rs-inline-rustflags := -Ctarget-cpu=x86-64
endif
endif
