# SPDX-License-Identifier: GPL-2.0
#
#   make run             build the Rust kernel, boot it, show a MINOR fault
#                        resolved with UFFDIO_CONTINUE
#   make test            build it, boot it, run every userfaultfd test
#   make test IMPL=c     the same on the upstream C baseline kernel
#   make series          the whole feature as a git format-patch series
#                        against 6.12, in build/series/out/
#   make profile ROW=r   where the instructions of benchmark row r go
#
# Variables: IMPL=rust|c (default rust), ONLY=<substring> (run only the guest
# programs whose name contains it), GUEST_TIMEOUT=<s>, ACCEL=tcg|kvm, JOBS=<n>.

IMPL ?= rust
export IMPL ONLY GUEST_TIMEOUT ACCEL JOBS

S := scripts

all: build

deps:
	@$(S)/deps.sh

tree: deps
	@$(S)/tree.sh

build: tree
	@$(S)/build.sh $(IMPL)

run: build
	@$(S)/guest.sh $(IMPL) run

test: check-host build
	@$(S)/guest.sh $(IMPL) test

# Host-side tests: the result parser, the pure Rust logic, and the patch
# series (it applies with git am to the pristine source, gives the tree
# tree.sh assembles, and checkpatch --strict finds nothing unexpected;
# about 20 s the first time, 2 s when no patch changed).
check-host: tree
	@echo "host: testing scripts/results.py"
	@python3 $(S)/tests/test_results.py
	@echo "host: cargo test (pure Rust logic, host-tests/)"
	@cd host-tests && cargo test --quiet
	@echo "host: the patch series (make series), git am and checkpatch --strict"
	@$(S)/series.py --check

# The whole feature as a git format-patch series against 6.12, with a
# cover letter, in build/series/out/ (scripts/series.py,
# patches/series-groups).
series: tree
	@$(S)/series.py

# A/B benchmark of the Rust and C kernels (builds both).
bench: deps tree
	@$(S)/build.sh rust
	@$(S)/build.sh c
	@$(S)/bench.sh

# Where the guest instructions of one benchmark row go, per function, on
# the kernel already built: make profile ROW=continue-shmem [IMPL=c]
# (scripts/profile.sh; about 30 s).
profile:
	@$(S)/profile.sh $(IMPL) $(ROW)

# Only boot and test what is already built (no install, no rebuild).
retest:
	@$(S)/guest.sh $(IMPL) test

clean:
	rm -rf build/out-rust build/out-c

distclean:
	rm -rf build

.PHONY: all deps tree build run test check-host series bench profile retest clean distclean
