// SPDX-License-Identifier: GPL-2.0

//! Memory-management abstractions for the Rust userfaultfd implementation.
//!
//! C headers: [`include/linux/swapops.h`](srctree/include/linux/swapops.h),
//! [`include/linux/mm.h`](srctree/include/linux/mm.h).
//!
//! This is the layer where `unsafe` lives: the userfaultfd logic in
//! `mm/userfaultfd_rs.rs` is safe Rust over the types defined here.
//!
//! - [`pte`]: PTE, swap entry and PTE marker values.
//! - [`swp_layout`]: the architecture-independent marker encoding (pure
//!   logic, also compiled and tested on the host).
//! - [`virt`]: an address space held by a reference, under its mmap lock;
//!   a VMA under the mmap lock or its per-VMA lock, and its queries.
//! - [`pgtable`]: a PTE table mapped and locked, as a guard; PTEs whose
//!   lock a C caller holds.
//! - [`uffd`]: a userfaultfd context.
//! - [`folio`]: folio references, for the pages the fill engine maps.
//! - [`hugetlb`]: the locks and entries of a hugetlb fill.

pub mod folio;
#[cfg(CONFIG_HUGETLB_PAGE)]
pub mod hugetlb;
pub mod pgtable;
pub mod pte;
pub mod swp_layout;
pub mod uffd;
pub mod virt;
