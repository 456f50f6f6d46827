// SPDX-License-Identifier: GPL-2.0

//! The kernel-independent parts of the Rust userfaultfd implementation,
//! compiled for the host from the very files the kernel builds.

#[path = "../../rust/kernel/mm/swp_layout.rs"]
pub mod swp_layout;

// The ioctl argument checks; crate-private in the kernel, so tested from
// inside this crate (src/uapi_tests.rs).
#[allow(dead_code)]
#[path = "../../mm/userfaultfd_rs/uapi.rs"]
mod uapi;
#[cfg(test)]
mod uapi_tests;
