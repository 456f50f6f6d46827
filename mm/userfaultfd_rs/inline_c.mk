# SPDX-License-Identifier: GPL-2.0
#
# CONFIG_USERFAULTFD_RUST_INLINE_C, included by rust/Makefile: the C
# helpers (rust/helpers/) and the userfaultfd shims (shim.c, built here
# because the kernel crate calls them too) compiled to LLVM bitcode with
# the C flags of rust/ (the helpers' own; for shim.c the same but for its
# module name and rust/'s instrumentation settings), and linked into the
# kernel crate.
# mm/userfaultfd_rs/Makefile links them into userfaultfd_rs.o.
# scripts/Makefile.build (rust_inline_c) does the linking.

include $(srctree)/mm/userfaultfd_rs/inline_cpu.mk

ifeq ($(LLVM_LINK),)
$(error CONFIG_USERFAULTFD_RUST_INLINE_C needs LLVM=1 or LLVM=-<version> for llvm-link)
endif

uffd-rs-inline-bc := $(obj)/helpers/helpers.bc $(obj)/helpers/uffd_rs_shim.bc
always-y += helpers/helpers.bc helpers/uffd_rs_shim.bc

# LLVM inlines a function only into a caller whose attributes are
# compatible with its own: the same target CPU features or a superset of
# them, and the builtins the callee may not call (-fno-builtin-*) a subset
# of the caller's.  Two C flags break that for every Rust caller, and are
# adjusted here:
# - -fno-builtin-wcslen (top Makefile): rustc has no such attribute.  It is
#   left out of the bitcode: it only stops clang from turning a loop into a
#   call to wcslen(), and the helpers and shims have no such loop (were one
#   added, the link would fail: 6.12 has no wcslen()).
# - the target CPU: clang's default for x86-64 C is "x86-64", rustc's
#   "generic", whose features are not a superset of x86-64's.  The Rust
#   objects that link the bitcode are built for the CPU the C is built for
#   (inline_cpu.mk).
uffd-rs-bc-cflags-remove := $(CFLAGS_REMOVE_helpers/helpers.o) -fno-builtin-wcslen

quiet_cmd_c_to_bc = BC      $@
      cmd_c_to_bc = $(CC) $(filter-out $(uffd-rs-bc-cflags-remove), \
	$(c_flags)) -emit-llvm -c -o $@ $<

$(obj)/helpers/helpers.bc: $(src)/helpers/helpers.c FORCE
	+$(call if_changed_dep,c_to_bc)

$(obj)/helpers/uffd_rs_shim.bc: $(srctree)/mm/userfaultfd_rs/shim.c FORCE
	+$(call if_changed_dep,c_to_bc)

$(obj)/kernel.o: private rust_inline_bc = $(uffd-rs-inline-bc)
RUSTFLAGS_kernel.o += $(uffd-rs-inline-rustflags)
$(obj)/kernel.o: $(uffd-rs-inline-bc)
