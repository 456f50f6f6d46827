// SPDX-License-Identifier: GPL-2.0

//! The fill of hugetlb memory, one huge page at a time under hugetlb's
//! locks (C: `mfill_atomic_hugetlb()`).

use super::{run_pass, uffd_mfill_lock, FillStep};
use super::{FillLocks, FillRequest, PassEnd};
use crate::uapi::FillProgress;
use kernel::mm::folio::Folio;
use kernel::mm::hugetlb::{HugetlbFillLock, HugetlbVma};
use kernel::mm::uffd::{MfillFlags, MfillMode, UffdCtx};
use kernel::mm::MmWithUser;
use kernel::prelude::*;

/// The fill step of a pass over a hugetlb VMA: hugetlb's own fill of one
/// huge page (C: `hugetlb_mfill_atomic_pte()`) under the page's fault
/// mutex and the hugetlb VMA lock.
pub(super) struct HugetlbStep<'a> {
    vma: &'a HugetlbVma,
    /// The huge page size, in bytes.
    size: usize,
    flags: MfillFlags,
}

impl FillStep for HugetlbStep<'_> {
    #[inline]
    fn page_size(&self) -> usize {
        self.size
    }

    #[inline]
    fn fill(&mut self, dst: usize, src: usize, pending: &mut Option<Folio>) -> Result {
        let lock = HugetlbFillLock::lock(self.vma, dst, self.size)?;
        // Only CONTINUE maps over a present page (its own, from the page
        // cache; hugetlb checks that).
        if self.flags.mode() != MfillMode::Continue && !lock.get().is_huge_none_mostly() {
            return Err(EEXIST);
        }
        lock.mfill_atomic_pte(src, self.flags, pending)
    }
}

/// A pass over the hugetlb VMA `vma`.  The first one makes the entry
/// checks of `mfill_atomic_hugetlb()`: there is no huge zero page
/// (ZEROPAGE is `EINVAL`), and the range must be aligned to the huge page
/// size (`EINVAL`); `hugetlb_size` then records that size.  As in C, a fill
/// that finds a hugetlb VMA only on a retry starts over from the start of
/// the range, without the page pending for another VMA.
pub(super) fn fill_pass(
    vma: &HugetlbVma,
    req: &FillRequest,
    progress: &mut FillProgress,
    pending: &mut Option<Folio>,
    hugetlb_size: &mut Option<usize>,
) -> Result<PassEnd> {
    let size = match *hugetlb_size {
        Some(size) => size,
        None => {
            let size = vma.page_size();
            if req.flags.mode() == MfillMode::Zeropage || (req.dst | req.len) & (size - 1) != 0 {
                return Err(EINVAL);
            }
            *pending = None;
            *progress = FillProgress::new();
            *hugetlb_size = Some(size);
            size
        }
    };
    let mut step = HugetlbStep {
        vma,
        size,
        flags: req.flags,
    };
    run_pass(&mut step, req, progress, pending)
}

/// The locks of a retry of a hugetlb fill (C: the relock in
/// `mfill_atomic_hugetlb()`): the VMA must still be hugetlb (`ENOENT`)
/// with pages of `size` bytes (`EINVAL`), and no non-cooperative event may
/// be changing the mappings (`EAGAIN`).
pub(super) fn relock<'a>(
    ctx: &'a UffdCtx,
    mm: &'a MmWithUser,
    req: &FillRequest,
    size: usize,
) -> Result<FillLocks<'a>> {
    let vma = uffd_mfill_lock(mm, req.dst, req.end())?;
    match vma.as_hugetlb() {
        None => return Err(ENOENT),
        Some(hvma) if hvma.page_size() != size => return Err(EINVAL),
        Some(_) => {}
    }
    let changing = ctx.map_changing_read();
    if changing.mmap_changing() {
        return Err(EAGAIN);
    }
    Ok(FillLocks {
        _changing: changing,
        vma,
    })
}
