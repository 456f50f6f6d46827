// SPDX-License-Identifier: GPL-2.0

//! The fill of hugetlb memory, one huge page at a time under hugetlb's
//! locks (C: `mfill_atomic_hugetlb()`).

use super::{run_pass, uffd_mfill_lock, FillStep};
use super::{FillLocks, FillRequest, PassEnd};
use crate::uapi::FillProgress;
use kernel::mm::hugetlb::{HugetlbFillLock, HugetlbNewFolio, HugetlbTempFolio, HugetlbVma};
use kernel::mm::pte::{Pte, PteMarker};
use kernel::mm::uffd::{MfillFlags, MfillMode, UffdCtx};
use kernel::mm::MmWithUser;
use kernel::prelude::*;

/// The fill step of a pass over a hugetlb VMA: the fill of one huge page
/// ([`hugetlb_mfill_atomic_pte`]) under the page's fault mutex and the
/// hugetlb VMA lock.
pub(super) struct HugetlbStep<'a> {
    vma: &'a HugetlbVma,
    /// The huge page size, in bytes.
    size: usize,
    flags: MfillFlags,
}

impl FillStep for HugetlbStep<'_> {
    type Pending = HugetlbTempFolio;

    #[inline]
    fn fill(
        &mut self,
        dst: usize,
        src: usize,
        pending: &mut Option<HugetlbTempFolio>,
    ) -> Result<usize> {
        let lock = HugetlbFillLock::lock(self.vma, dst, self.size)?;
        // Only CONTINUE maps over a present page (its own, from the page
        // cache; hugetlb checks that).
        if self.flags.mode() != MfillMode::Continue && !lock.get().is_huge_none_mostly() {
            return Err(EEXIST);
        }
        hugetlb_mfill_atomic_pte(&lock, src, self.flags, pending)?;
        Ok(self.size)
    }
}

/// C: `hugetlb_mfill_atomic_pte()`: hugetlb's fill of the huge page that
/// `lock` holds, as `flags` say.  The three modes of the copy (seed 004's
/// NORMAL and CONTINUE; ZEROPAGE never gets here) and POISON:
///
/// - POISON puts a poisoned marker where nothing is mapped (`EEXIST` over
///   anything, markers included).
/// - CONTINUE maps the page the page cache holds, never allocating
///   (`EFAULT` without one).
/// - COPY allocates a huge page from the VMA's reservation and copies the
///   source into it with page faults disabled; when that falls short it
///   gives the page (and its reservation) back and fails with `ENOENT`,
///   leaving in `pending` a page that consumed no reservation, to be
///   filled without the locks; the next pass copies that into a new page
///   here.  In a shared mapping the page goes into the page cache first
///   (`EEXIST` if one is there, `EFAULT` beyond the end of the file).
///
/// Then the page is mapped where the entry is none or a marker (`EEXIST`
/// otherwise, `EIO` for a page with a memory error).  `ENOMEM` when no huge
/// page is left.  On any error the new page is dropped and its
/// reservation given back, as C does.
fn hugetlb_mfill_atomic_pte(
    lock: &HugetlbFillLock<'_>,
    src: usize,
    flags: MfillFlags,
    pending: &mut Option<HugetlbTempFolio>,
) -> Result {
    let folio = match flags.mode() {
        MfillMode::Poison => {
            return lock
                .lock_pte()
                .set_marker_over_none(Pte::new_marker(PteMarker::POISONED));
        }
        MfillMode::Continue => lock.lock_cache_folio()?,
        // Refused by the first pass: hugetlb has no huge zero page.
        MfillMode::Zeropage => return Err(EINVAL),
        MfillMode::Copy => {
            let mut folio = hugetlb_copy_new_folio(lock, src, pending)?;
            folio.mark_uptodate();
            if lock.vma().is_shared() {
                if lock.beyond_eof() {
                    return Err(EFAULT);
                }
                folio.add_to_page_cache()?
            } else {
                folio.into_private()
            }
        }
    };
    lock.lock_pte().install(folio, flags)
}

/// The new huge page of a COPY, filled from `src`, or from `pending` (a
/// page filled outside the locks, which this consumes).  `EEXIST` in a
/// shared mapping whose page cache has the page; `ENOENT` with `pending`
/// set when the source must be copied without the locks.
fn hugetlb_copy_new_folio<'l>(
    lock: &'l HugetlbFillLock<'_>,
    src: usize,
    pending: &mut Option<HugetlbTempFolio>,
) -> Result<HugetlbNewFolio<'l>> {
    // A page filled outside the locks is dropped on every path out.
    let copied = pending.take();
    if lock.vma().is_shared() && lock.pagecache_present() {
        return Err(EEXIST);
    }
    let mut folio = lock.alloc_folio()?;
    match copied {
        Some(copied) => folio.copy_from(&copied)?,
        None => {
            if !folio.copy_from_user_nofault(src) {
                // Give the page and its reservation back before taking a
                // page that holds none, as C does.
                drop(folio);
                *pending = Some(lock.alloc_temp_folio()?);
                return Err(ENOENT);
            }
        }
    }
    Ok(folio)
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
    pending: &mut Option<HugetlbTempFolio>,
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
