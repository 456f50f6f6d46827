// SPDX-License-Identifier: GPL-2.0

//! Userfaultfd write-protect: `UFFDIO_WRITEPROTECT`, the protection of a
//! range, and which VMAs keep the protection of none PTEs in markers.
//!
//! Protecting a range changes its PTEs with `change_protection()`: present
//! PTEs get the uffd-wp bit, swap PTEs their uffd-wp swap bit, and none
//! PTEs of VMAs that use markers (file memory; anonymous memory with
//! `UFFD_FEATURE_WP_UNPOPULATED`) a `PTE_MARKER_UFFD_WP` marker.  How the
//! bit then survives zapping and fork is in [`crate::marker`]; what a
//! fault on it does, in [`crate::fault`].

use crate::uapi::{
    UffdRange, WpMode, UFFDIO_WRITEPROTECT_MODE_DONTWAKE, UFFDIO_WRITEPROTECT_MODE_WP,
};
use core::cmp::{max, min};
use kernel::bindings;
use kernel::mm::uffd::{UffdCtx, UffdioArg, UffdioWriteprotect};
use kernel::mm::virt::{MmapLocked, VmaRef};
use kernel::mm::MmWithUser;
use kernel::prelude::*;
use kernel::uaccess::UserPtr;

// The host-tested mode bits of `uapi` are the uapi header's.
const _: () = {
    assert!(UFFDIO_WRITEPROTECT_MODE_WP == bindings::UFFDIO_WRITEPROTECT_MODE_WP);
    assert!(UFFDIO_WRITEPROTECT_MODE_DONTWAKE == bindings::UFFDIO_WRITEPROTECT_MODE_DONTWAKE);
};

/// C: `userfaultfd_writeprotect()`: the checks in the order C makes them
/// (so that each bad input gets the same errno), then the range, then the
/// wake-up.  `EAGAIN` while non-cooperative events change the mappings,
/// `EFAULT` for an unreadable argument, `EINVAL` for a bad range or mode,
/// `ESRCH` when the address space is gone, and the errors of
/// [`mwriteprotect_range`].
pub(crate) fn userfaultfd_writeprotect(ctx: &UffdCtx, arg: UserPtr) -> Result {
    if ctx.mmap_changing() {
        return Err(EAGAIN);
    }
    let uffdio_wp = UffdioWriteprotect::read(arg)?;
    let page_size = bindings::PAGE_SIZE as u64;
    let range = UffdRange::validate(
        uffdio_wp.range.start,
        uffdio_wp.range.len,
        page_size,
        ctx.mm().task_size(),
    )
    .ok_or(EINVAL)?;
    let mode = WpMode::decode(uffdio_wp.mode).ok_or(EINVAL)?;

    let mm = ctx.mm().mmget_not_zero().ok_or(ESRCH)?;
    mwriteprotect_range(ctx, &mm, range, mode.wp)?;
    drop(mm);

    if mode.wakes() {
        ctx.wake(range.start() as usize, range.len() as usize);
    }
    Ok(())
}

/// C: `mwriteprotect_range()`: protects or un-protects every VMA of the
/// range.  Holes between VMAs are skipped; a VMA not registered for
/// write-protect ends it with `ENOENT`, as does a range without VMAs; a
/// hugetlb VMA needs the range aligned to its page size (`EINVAL`).
fn mwriteprotect_range(
    ctx: &UffdCtx,
    mm: &MmWithUser,
    range: UffdRange,
    enable_wp: bool,
) -> Result {
    let mmap = mm.mmap_read_lock();
    // A non-cooperative event (fork, mremap, ...) changing the mappings
    // would race with us: user space retries after reading it.
    let changing = ctx.map_changing_read();
    if changing.mmap_changing() {
        return Err(EAGAIN);
    }

    let (start, end) = (range.start() as usize, range.end() as usize);
    let mut ret = Err(ENOENT);
    for vma in mmap.locked().vmas(start, end) {
        if !vma.uffd_modes().wp {
            return Err(ENOENT);
        }
        if let Some(hvma) = vma.as_hugetlb() {
            if !range.is_aligned_to(hvma.page_size() as u64) {
                return Err(EINVAL);
            }
        }
        let (from, to) = (max(vma.start(), start), min(vma.end(), end));
        uffd_wp_range(mmap.locked(), vma, from, to, enable_wp)?;
        ret = Ok(());
    }
    ret
}

/// C: `uffd_wp_range()`: sets or clears the uffd-wp bit of the PTEs of
/// `[start, end)` (bytes) in `vma`, installing markers in the none PTEs of
/// VMAs that use them.  Returns the number of PTEs changed; `EINVAL` for a
/// range outside the VMA.
pub(crate) fn uffd_wp_range(
    mm: MmapLocked<'_>,
    vma: &VmaRef,
    start: usize,
    end: usize,
    enable_wp: bool,
) -> Result<usize> {
    let mut cp_flags = if enable_wp {
        bindings::MM_CP_UFFD_WP
    } else {
        bindings::MM_CP_UFFD_WP_RESOLVE
    };
    // The VMA's default protection is already write-protected while it is
    // registered for uffd-wp; un-protecting may make PTEs writable right
    // away where the VMA leaves that to us.
    if !enable_wp && vma.wants_manual_pte_write_upgrade() {
        cp_flags |= bindings::MM_CP_TRY_CHANGE_WRITABLE;
    }
    mm.change_protection(vma, start, end, cp_flags)
}

/// C: `userfaultfd_wp_unpopulated()`: whether the VMA's context asked for
/// markers in unpopulated anonymous memory (`UFFD_FEATURE_WP_UNPOPULATED`).
pub(crate) fn userfaultfd_wp_unpopulated(vma: &VmaRef) -> bool {
    vma.uffd_ctx()
        .is_some_and(|ctx| ctx.features() & bindings::UFFD_FEATURE_WP_UNPOPULATED != 0)
}

/// C: `userfaultfd_wp_use_markers()`: whether write-protecting a none PTE
/// of the VMA installs a marker.  File memory always does (its PTEs come
/// and go while the page stays); anonymous memory only with
/// `UFFD_FEATURE_WP_UNPOPULATED`.
pub(crate) fn userfaultfd_wp_use_markers(vma: &VmaRef) -> bool {
    if !vma.uffd_modes().wp {
        return false;
    }
    !vma.is_anonymous() || userfaultfd_wp_unpopulated(vma)
}
