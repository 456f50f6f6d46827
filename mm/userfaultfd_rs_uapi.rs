// SPDX-License-Identifier: GPL-2.0

//! The argument checks of the userfaultfd ioctls, as pure functions.
//!
//! No kernel types here: this file is also compiled and unit-tested on the
//! host (`host-tests/`), so a wrong check fails in seconds.  Every check
//! gives the answer of the C in `fs/userfaultfd.c`; the callers turn `None`
//! into `EINVAL`, the errno C returns for all of them.

/// `UFFDIO_WRITEPROTECT_MODE_WP` (include/uapi/linux/userfaultfd.h).
pub(crate) const UFFDIO_WRITEPROTECT_MODE_WP: u64 = 1 << 0;
/// `UFFDIO_WRITEPROTECT_MODE_DONTWAKE`.
pub(crate) const UFFDIO_WRITEPROTECT_MODE_DONTWAKE: u64 = 1 << 1;

/// A user range that passed `validate_range()`: page aligned, not empty,
/// inside user space, not wrapping.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct UffdRange {
    start: u64,
    len: u64,
}

impl UffdRange {
    /// C: `validate_range()`.  `start` and `len` must be multiples of
    /// `page_size` (a power of two), `len` not zero, and the range must lie
    /// below `task_size` (which also rules out wrapping around).
    pub(crate) const fn validate(
        start: u64,
        len: u64,
        page_size: u64,
        task_size: u64,
    ) -> Option<Self> {
        let mask = page_size - 1;
        if start & mask != 0 || len & mask != 0 || len == 0 {
            return None;
        }
        if start >= task_size || len > task_size - start {
            return None;
        }
        Some(Self { start, len })
    }

    /// First address.
    pub(crate) const fn start(&self) -> u64 {
        self.start
    }

    /// Length in bytes, not zero.
    pub(crate) const fn len(&self) -> u64 {
        self.len
    }

    /// One past the last address; no overflow (checked by `validate`).
    pub(crate) const fn end(&self) -> u64 {
        self.start + self.len
    }

    /// Whether start and length are multiples of `page_size` (a power of
    /// two): the check `mwriteprotect_range()` makes for hugetlb VMAs.
    pub(crate) const fn is_aligned_to(&self, page_size: u64) -> bool {
        (self.start | self.len) & (page_size - 1) == 0
    }
}

/// The mode of `UFFDIO_WRITEPROTECT`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct WpMode {
    /// Protect (`MODE_WP`) rather than un-protect.
    pub(crate) wp: bool,
    /// Do not wake the faulting threads after un-protecting.
    pub(crate) dontwake: bool,
}

impl WpMode {
    /// Decodes `uffdio_writeprotect.mode`: unknown bits, and protecting
    /// with `DONTWAKE` (which has nothing to wake), are refused.
    pub(crate) const fn decode(mode: u64) -> Option<Self> {
        if mode & !(UFFDIO_WRITEPROTECT_MODE_WP | UFFDIO_WRITEPROTECT_MODE_DONTWAKE) != 0 {
            return None;
        }
        let wp = mode & UFFDIO_WRITEPROTECT_MODE_WP != 0;
        let dontwake = mode & UFFDIO_WRITEPROTECT_MODE_DONTWAKE != 0;
        if wp && dontwake {
            return None;
        }
        Some(Self { wp, dontwake })
    }

    /// Whether the faulting threads are woken afterwards: only when
    /// un-protecting without `DONTWAKE`.
    pub(crate) const fn wakes(&self) -> bool {
        !self.wp && !self.dontwake
    }
}
