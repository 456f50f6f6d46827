// SPDX-License-Identifier: GPL-2.0

//! Rust implementation of the userfaultfd resolution paths and PTE markers.
//!
//! Built into the kernel when `CONFIG_USERFAULTFD_RUST` is set; core mm calls
//! the `#[no_mangle]` entry points declared in `include/linux/userfaultfd_rs.h`.

use kernel::prelude::*;

/// Prefix of this crate's log messages (the `pr_*!` macros read it).
const __LOG_PREFIX: &[u8] = b"userfaultfd\0";

/// Called once from `userfaultfd_init()`, before `/dev/userfaultfd` is
/// registered, to announce that the Rust implementation is built in.
///
/// Returns 0: nothing here can fail yet.
#[no_mangle]
pub extern "C" fn userfaultfd_rs_init() -> core::ffi::c_int {
    pr_info!("Rust implementation of the resolution paths enabled\n");
    0
}
