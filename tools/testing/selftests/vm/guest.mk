# SPDX-License-Identifier: GPL-2.0
#
# The test programs of this repository's QEMU guest (scripts/build.sh), as
# static binaries: the guest's initramfs has busybox and no C library.
#   make -f guest.mk O=<outdir> KSRC=<kernel tree> KHDR=<headers_install include dir>
#
#   $(O)/vm/           our tests        } built by this directory's kselftest
#   $(O)/bench/        our benchmarks   } Makefile, with KSRC's lib.mk
#   $(O)/upstream/     uffd-unit-tests, uffd-stress and pagemap_ioctl of KSRC
#   $(O)/run_vmtests/  upstream's runner, run_vmtests.sh, with what its
#                      "userfaultfd" category runs (uffd-unit-tests and
#                      uffd-stress, built as the mm Makefile builds them)
#                      and a static bash to run it
#
# Not part of the kselftest target: in a kernel tree, the Makefile beside
# this file is used as any selftest's ("make -C tools/testing/selftests
# TARGETS=vm run_tests").

O ?= $(CURDIR)/out
KSRC ?= $(error KSRC (kernel source tree) not set)
KHDR ?= $(error KHDR (installed kernel headers) not set)
# A statically linked bash (Debian's bash-static) for run_vmtests.sh.
BASH_STATIC ?= /bin/bash-static

SELFTESTS := $(KSRC)/tools/testing/selftests
MM := $(SELFTESTS)/mm
CC := gcc
LDLIBS := -lrt -lm

OURS := $(sort $(patsubst %.c,%,$(wildcard uffd-*.c)))
BENCH := $(sort $(patsubst bench/%.c,%,$(wildcard bench/*.c)))
UPSTREAM := uffd-unit-tests uffd-stress pagemap_ioctl
RUNNER_PROGS := uffd-unit-tests uffd-stress
RUNNER := $(addprefix $(O)/run_vmtests/,$(RUNNER_PROGS) run_vmtests.sh bash)

all: ours $(addprefix $(O)/upstream/,$(UPSTREAM)) $(RUNNER)

# Our tests and benchmarks: the kselftest Makefile, given KSRC's lib.mk
# (its "include ../lib.mk" is found through -I when this directory is not
# in a kernel tree), the installed headers and -static (lib.mk appends
# USERLDFLAGS to LDFLAGS).  The tests go to vm/, the benchmarks to bench/:
# the guest runs every program in vm/.  V=1 with make -s: no output.
KSFT_MAKE = $(MAKE) --no-print-directory -I $(MM) -f Makefile V=1 \
	KHDR_INCLUDES="-isystem $(KHDR)" USERLDFLAGS=-static

ours:
	@mkdir -p $(O)/vm $(O)/bench
	+$(KSFT_MAKE) OUTPUT=$(O)/vm $(addprefix $(O)/vm/,$(OURS))
	+$(KSFT_MAKE) OUTPUT=$(O)/bench $(addprefix $(O)/bench/,$(BENCH))

# Upstream's userfaultfd tests, run one by one by the guest.
UP_CFLAGS := -O2 -Wall -static -pthread -isystem $(KHDR) \
	-isystem $(KSRC)/tools/include/uapi -I $(SELFTESTS)

$(O)/upstream/%: $(MM)/%.c $(MM)/uffd-common.c $(MM)/vm_util.c $(MM)/uffd-common.h $(MM)/vm_util.h
	@mkdir -p $(dir $@)
	$(CC) $(UP_CFLAGS) -Wno-maybe-uninitialized -o $@ $< $(MM)/uffd-common.c $(MM)/vm_util.c $(LDLIBS)

# pagemap_ioctl (PAGEMAP_SCAN) has its own rule: it links vm_util.c only
# (uffd-common.c would define its globals a second time), and it creates
# scratch files named after __FILE__, so the source directory is mapped to
# /tmp: they land in the guest's tmpfs, not at a path of the build host.
$(O)/upstream/pagemap_ioctl: $(MM)/pagemap_ioctl.c $(MM)/vm_util.c $(MM)/vm_util.h
	@mkdir -p $(dir $@)
	$(CC) $(UP_CFLAGS) -fmacro-prefix-map=$(MM)/=/tmp/ -o $@ $< $(MM)/vm_util.c $(LDLIBS)

# run_vmtests.sh -t userfaultfd runs ./uffd-unit-tests and ./uffd-stress
# from its own directory.  They are built with the flags and sources of
# KSRC's mm Makefile (which cannot be run here: it writes local_config.mk
# into the source tree), plus -static.
RUNNER_CFLAGS := -Wall -O2 -I $(KSRC) -isystem $(KHDR) -isystem $(KSRC)/tools/include/uapi \
	-U_FORTIFY_SOURCE -D_GNU_SOURCE= -static -Wno-maybe-uninitialized
RUNNER_LIBS := $(MM)/vm_util.c $(MM)/thp_settings.c $(MM)/uffd-common.c

$(addprefix $(O)/run_vmtests/,$(RUNNER_PROGS)): $(O)/run_vmtests/%: $(MM)/%.c $(RUNNER_LIBS) \
		$(MM)/uffd-common.h $(MM)/vm_util.h $(MM)/thp_settings.h
	@mkdir -p $(dir $@)
	$(CC) $(RUNNER_CFLAGS) $< $(RUNNER_LIBS) -lrt -lpthread -lm -o $@

$(O)/run_vmtests/run_vmtests.sh: $(MM)/run_vmtests.sh
	@mkdir -p $(dir $@)
	install -m 755 $< $@

$(O)/run_vmtests/bash: $(BASH_STATIC)
	@mkdir -p $(dir $@)
	install -m 755 $< $@

$(BASH_STATIC):
	$(error $(BASH_STATIC) not found: install Debian's bash-static (make deps))

clean:
	rm -rf $(O)/upstream $(O)/vm $(O)/bench $(O)/run_vmtests

.PHONY: all ours clean
