# SPDX-License-Identifier: GPL-2.0
#
# CONFIG_USERFAULTFD_RUST_INLINE_C: the rustc flags of the Rust objects
# that link the C bitcode (rust/kernel.o, mm/userfaultfd_rs/userfaultfd_rs.o;
# included by inline_c.mk and mm/userfaultfd_rs/Makefile).  LLVM inlines a
# C function into a Rust caller only if the caller's target CPU features
# are a superset of the callee's; rustc builds for "generic", clang for
# x86-64 C without -march (CONFIG_GENERIC_CPU) for "x86-64", whose features
# "generic" lacks.  So those objects are built for the C's CPU.  Other CPU
# choices keep rustc's default, and the C is then not inlined.

uffd-rs-inline-rustflags :=
ifdef CONFIG_X86_64
ifdef CONFIG_GENERIC_CPU
uffd-rs-inline-rustflags := -Ctarget-cpu=x86-64
endif
endif
