// SPDX-License-Identifier: GPL-2.0

//! Rust implementation of the userfaultfd resolution paths and PTE markers.
//!
//! Built into the kernel when `CONFIG_USERFAULTFD_RUST` is set.  Core mm
//! calls the functions of [`exports`], declared in
//! `include/linux/userfaultfd_rs.h` and, for the ones that replace C
//! inline functions, where those were declared.
//!
//! One concept per module:
//! - [`exports`]: the C seam, the only module allowed `unsafe` code (the
//!   crate denies it everywhere else, so the compiler enforces the rule);
//! - [`fill`]: the fill ioctls (`UFFDIO_COPY`, `ZEROPAGE`, `CONTINUE`,
//!   `POISON`) and the fill driver, with its PTE and hugetlb steps;
//! - [`wp`]: `UFFDIO_WRITEPROTECT` and the protection of a range;
//! - [`marker`]: the PTE marker API and the marker life cycle (zap, fork);
//! - [`fault`]: the fault path's decisions on markers and fault-around,
//!   and the hand-off of shmem and hugetlb faults to user space;
//! - [`hugetlb`]: hugetlb's uffd-wp decisions (fault, zap, fork, mremap,
//!   protection);
//! - [`uapi`]: the ioctl argument checks, pure and host-tested;
//! - `probe`: the debugfs PTE probe (with `CONFIG_USERFAULTFD_RUST_DEBUGFS`).
//!
//! The abstractions they use, and the `unsafe` code behind them, are in
//! `kernel::mm` (`rust/kernel/mm/`); the C shims in `shim.c` here.

#![deny(unsafe_code)]

/// Prefix of this crate's log messages (the `pr_*!` macros read it).
const __LOG_PREFIX: &[u8] = b"userfaultfd\0";

#[allow(unsafe_code)]
pub mod exports;
mod fault;
mod fill;
mod hugetlb;
mod marker;
#[cfg(CONFIG_USERFAULTFD_RUST_DEBUGFS)]
mod probe;
mod uapi;
mod wp;
