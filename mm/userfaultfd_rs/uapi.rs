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
        if start & (page_size - 1) != 0
            || !Self::validate_unaligned(start, len, page_size, task_size)
        {
            return None;
        }
        Some(Self { start, len })
    }

    /// C: `validate_unaligned_range()`: the checks of
    /// [`UffdRange::validate`] except the alignment of `start` (the source
    /// of `UFFDIO_COPY` may be unaligned).
    pub(crate) const fn validate_unaligned(
        start: u64,
        len: u64,
        page_size: u64,
        task_size: u64,
    ) -> bool {
        len & (page_size - 1) == 0 && len != 0 && start < task_size && len <= task_size - start
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

/// The four ioctls that fill a range (`mfill_atomic()`): they share their
/// argument layout (input fields, then one `__s64` result field) and their
/// handling of the result.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum FillOp {
    /// `UFFDIO_COPY`: `dst`, `src`, `len`, `mode`, result `copy`.
    Copy,
    /// `UFFDIO_ZEROPAGE`: `range`, `mode`, result `zeropage`.
    Zeropage,
    /// `UFFDIO_CONTINUE`: `range`, `mode`, result `mapped`.
    Continue,
    /// `UFFDIO_POISON`: `range`, `mode`, result `updated`.
    Poison,
}

/// `UFFDIO_{COPY,ZEROPAGE,CONTINUE,POISON}_MODE_DONTWAKE` (all bit 0).
pub(crate) const UFFDIO_FILL_MODE_DONTWAKE: u64 = 1 << 0;
/// `UFFDIO_COPY_MODE_WP` and `UFFDIO_CONTINUE_MODE_WP` (both bit 1).
pub(crate) const UFFDIO_FILL_MODE_WP: u64 = 1 << 1;

/// The decoded mode of a fill ioctl.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct FillMode {
    /// Map the pages write-protected (`MFILL_ATOMIC_WP`).
    pub(crate) wp: bool,
    /// Do not wake the faulting threads.
    pub(crate) dontwake: bool,
}

impl FillOp {
    /// Decodes the mode: unknown bits are refused (`MODE_WP` exists for
    /// COPY and CONTINUE only).
    pub(crate) const fn decode_mode(self, mode: u64) -> Option<FillMode> {
        let allowed = match self {
            Self::Copy | Self::Continue => UFFDIO_FILL_MODE_DONTWAKE | UFFDIO_FILL_MODE_WP,
            Self::Zeropage | Self::Poison => UFFDIO_FILL_MODE_DONTWAKE,
        };
        if mode & !allowed != 0 {
            return None;
        }
        Some(FillMode {
            wp: mode & UFFDIO_FILL_MODE_WP != 0,
            dontwake: mode & UFFDIO_FILL_MODE_DONTWAKE != 0,
        })
    }
}

/// How far a fill got: the bytes filled from the start of the range, and
/// the error that stopped it before the end, if one did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct FillProgress {
    done: u64,
    /// A negative errno, or 0 while the fill goes on or when it completed.
    error: i32,
}

/// What a fill ioctl returns, from its [`FillProgress`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum FillOutcome {
    /// Everything was filled: 0.
    Complete,
    /// Part of the range was filled: `EAGAIN` (user space retries the
    /// rest).
    Partial,
    /// Nothing was filled: this negative errno.
    Failed(i32),
}

impl FillProgress {
    /// Nothing filled yet.
    #[inline]
    pub(crate) const fn new() -> Self {
        Self { done: 0, error: 0 }
    }

    /// Bytes filled so far.
    #[inline]
    pub(crate) const fn done(&self) -> u64 {
        self.done
    }

    /// Records `bytes` more filled.
    #[inline]
    pub(crate) fn advance(&mut self, bytes: u64) {
        self.done += bytes;
    }

    /// Records the error (a negative errno) that stopped the fill.
    #[inline]
    pub(crate) fn stop(&mut self, errno: i32) {
        self.error = errno;
    }

    /// The result field (`copy`, `zeropage`, `mapped`, `updated`): the
    /// bytes filled if any were, else the error (C: what `mfill_atomic()`
    /// returns).
    #[inline]
    pub(crate) const fn result_field(&self) -> i64 {
        if self.done > 0 {
            self.done as i64
        } else {
            self.error as i64
        }
    }

    /// The bytes from the start whose faulting threads are woken (unless
    /// `DONTWAKE`): what was filled.  0 wakes nobody (C never wakes a
    /// zero-length range, which would wake every faulter).
    #[inline]
    pub(crate) const fn wake_len(&self) -> u64 {
        self.done
    }

    /// What the ioctl returns for a request of `len` bytes (C: the tail of
    /// `userfaultfd_copy()` and its siblings).  A fill that stopped with
    /// nothing filled and no error cannot happen; it counts as partial.
    #[inline]
    pub(crate) const fn outcome(&self, len: u64) -> FillOutcome {
        if self.done == len {
            FillOutcome::Complete
        } else if self.done == 0 && self.error < 0 {
            FillOutcome::Failed(self.error)
        } else {
            FillOutcome::Partial
        }
    }
}
