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

ifeq ($(LLVM_LINK),)
$(error CONFIG_USERFAULTFD_RUST_INLINE_C needs LLVM=1 or LLVM=-<version> for llvm-link)
endif

uffd-rs-inline-bc := $(obj)/helpers/helpers.bc $(obj)/helpers/uffd_rs_shim.bc
always-y += helpers/helpers.bc helpers/uffd_rs_shim.bc

quiet_cmd_c_to_bc = BC      $@
      cmd_c_to_bc = $(CC) $(filter-out $(CFLAGS_REMOVE_helpers/helpers.o), \
	$(c_flags)) -emit-llvm -c -o $@ $<

$(obj)/helpers/helpers.bc: $(src)/helpers/helpers.c FORCE
	+$(call if_changed_dep,c_to_bc)

$(obj)/helpers/uffd_rs_shim.bc: $(srctree)/mm/userfaultfd_rs/shim.c FORCE
	+$(call if_changed_dep,c_to_bc)

$(obj)/kernel.o: private rust_inline_bc = $(uffd-rs-inline-bc)
$(obj)/kernel.o: $(uffd-rs-inline-bc)
