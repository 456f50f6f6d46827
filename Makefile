# SPDX-License-Identifier: GPL-2.0
#
#   make run             build the Rust kernel, boot it, show a MINOR fault
#                        resolved with UFFDIO_CONTINUE
#   make test            build it, boot it, run every userfaultfd test
#   make test IMPL=c     the same on the upstream C baseline kernel
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

# Host-side tests: the result parser and the pure Rust logic.
check-host:
	@echo "host: testing scripts/results.py"
	@python3 $(S)/tests/test_results.py
	@echo "host: cargo test (pure Rust logic, host-tests/)"
	@cd host-tests && cargo test --quiet

# A/B benchmark of the Rust and C kernels (builds both).
bench: deps tree
	@$(S)/build.sh rust
	@$(S)/build.sh c
	@$(S)/bench.sh

# Only boot and test what is already built (no install, no rebuild).
retest:
	@$(S)/guest.sh $(IMPL) test

clean:
	rm -rf build/out-rust build/out-c

distclean:
	rm -rf build

.PHONY: all deps tree build run test check-host bench retest clean distclean
