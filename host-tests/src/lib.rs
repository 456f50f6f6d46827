// SPDX-License-Identifier: GPL-2.0

//! The kernel-independent parts of the Rust userfaultfd implementation,
//! compiled for the host from the very files the kernel builds.

#[path = "../../rust/kernel/mm/swp_layout.rs"]
pub mod swp_layout;
