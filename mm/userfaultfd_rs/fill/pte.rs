// SPDX-License-Identifier: GPL-2.0

//! The fill of one page of anonymous or shmem memory, under its PTE lock
//! (C: `mfill_atomic_pte()` and the functions it calls).

use super::FillStep;
use kernel::mm::folio::Folio;
use kernel::mm::pgtable::{PmdRef, PteTableGuard};
use kernel::mm::pte::{Pte, PteMarker};
use kernel::mm::uffd::{MfillFlags, MfillMode};
use kernel::mm::virt::{ShmemVma, VmaRef, ZeroPteCache};
use kernel::prelude::*;

/// The fill step of a pass over an anonymous or shmem VMA.
pub(super) struct PteStep<'a> {
    vma: &'a VmaRef,
    /// The VMA as shmem, if it is: asked of C once per pass.
    shmem: Option<&'a ShmemVma>,
    flags: MfillFlags,
    zero: ZeroPteCache<'a>,
    /// The PMD entry of the last page filled: the pages after it in the
    /// same PTE table use it rather than walk the page tables again.
    last_pmd: Option<PmdRef<'a>>,
}

impl<'a> PteStep<'a> {
    /// C: the VMA checks of `mfill_atomic()` after the hugetlb hand-off:
    /// anonymous or shmem memory only, and CONTINUE only on shmem, which
    /// has a page cache (`EINVAL` otherwise).
    pub(super) fn new(vma: &'a VmaRef, flags: MfillFlags) -> Result<Self> {
        let shmem = if vma.is_anonymous() {
            None
        } else {
            Some(vma.as_shmem().ok_or(EINVAL)?)
        };
        if shmem.is_none() && flags.mode() == MfillMode::Continue {
            return Err(EINVAL);
        }
        Ok(Self {
            vma,
            shmem,
            flags,
            zero: ZeroPteCache::new(vma),
            last_pmd: None,
        })
    }

    /// C: `mfill_atomic_pte()`: the page of `pmd`'s address, whose PTE
    /// table exists.
    #[inline]
    fn fill_at(&mut self, pmd: PmdRef<'a>, src: usize, pending: &mut Option<Folio>) -> Result {
        let vma = self.vma;
        match (self.flags.mode(), self.shmem) {
            (MfillMode::Continue, Some(shmem)) => mfill_atomic_pte_continue(shmem, pmd, self.flags),
            (MfillMode::Continue, None) => Err(EINVAL),
            (MfillMode::Poison, _) => mfill_atomic_pte_poison(vma, pmd),
            // A private mapping, of anonymous memory or of a shmem file,
            // gets anonymous pages: filling a hole of a private shmem
            // mapping must not create the page in the file.
            (MfillMode::Copy, _) if !vma.is_shared() => {
                mfill_atomic_pte_copy(vma, pmd, src, self.flags, pending)
            }
            (MfillMode::Zeropage, _) if !vma.is_shared() => {
                mfill_atomic_pte_zeropage(vma, pmd, &mut self.zero)
            }
            // Shared shmem: the page goes into the page cache.
            (MfillMode::Copy | MfillMode::Zeropage, Some(shmem)) => {
                super::shmem::shmem_mfill_atomic_pte(shmem, pmd, src, self.flags, pending)
            }
            // Shared anonymous memory was refused by the pass's checks.
            (MfillMode::Copy | MfillMode::Zeropage, None) => Err(EINVAL),
        }
    }
}

impl FillStep for PteStep<'_> {
    type Pending = Folio;

    #[inline]
    fn page_size(&self) -> usize {
        kernel::bindings::PAGE_SIZE
    }

    #[inline]
    fn fill(&mut self, dst: usize, src: usize, pending: &mut Option<Folio>) -> Result {
        let mut reused = self.last_pmd.take().and_then(|pmd| pmd.for_addr(dst));
        // At most two rounds: the second one after a fresh walk.
        loop {
            let pmd = match reused {
                Some(pmd) => pmd,
                None => self.vma.prepare_pte_table(dst)?,
            };
            let ret = self.fill_at(pmd, src, pending);
            // `EAGAIN`: the PTE table went away (khugepaged).  Right after
            // a walk that is the answer, as in C; with an earlier page's
            // entry, walk (allocating a new table) and try once more, as C
            // walks for every page.
            if ret == Err(EAGAIN) && reused.take().is_some() {
                continue;
            }
            if ret.is_ok() {
                self.last_pmd = Some(pmd);
            }
            return ret;
        }
    }
}

/// Locks the PTE table of `pmd`'s address for a fill: `EAGAIN` if the
/// table went away since it was allocated (khugepaged may collapse shmem
/// tables), and `EFAULT` if the address is beyond the end of the VMA's
/// file (C: the start of `mfill_atomic_install_pte()`,
/// `mfill_atomic_pte_zeropage()` and `mfill_atomic_pte_poison()`).
#[inline]
pub(super) fn lock_for_fill<'a>(vma: &'a VmaRef, pmd: PmdRef<'a>) -> Result<PteTableGuard<'a>> {
    let table = PteTableGuard::lock_pmd(pmd)?.ok_or(EAGAIN)?;
    if vma.file_over_size(table.addr()) {
        return Err(EFAULT);
    }
    Ok(table)
}

/// C: `mfill_atomic_install_pte()` of a new anonymous folio: maps its
/// page at `pmd`'s address, which takes the folio's reference.
#[inline]
fn install_new_folio(vma: &VmaRef, pmd: PmdRef<'_>, folio: Folio, flags: MfillFlags) -> Result {
    lock_for_fill(vma, pmd)?.install_new_anon_folio(folio, flags)
}

/// C: `mfill_atomic_pte_copy()`: a new anonymous page with the user's
/// data.  The copy is first tried with page faults disabled; if the source
/// is not in memory, `ENOENT` hands the page out to be filled without the
/// locks.
fn mfill_atomic_pte_copy(
    vma: &VmaRef,
    pmd: PmdRef<'_>,
    src: usize,
    flags: MfillFlags,
    pending: &mut Option<Folio>,
) -> Result {
    let mut folio = match pending.take() {
        Some(folio) => folio,
        None => {
            let mut folio = Folio::alloc_anon(vma, pmd.addr(), false)?;
            if !folio.copy_from_user_nofault(src) {
                *pending = Some(folio);
                return Err(ENOENT);
            }
            folio
        }
    };
    folio.prepare_new(vma)?;
    install_new_folio(vma, pmd, folio, flags)
}

/// C: `mfill_atomic_pte_zeropage()`: the shared zero page, or a zeroed
/// page where the mm may not map the zero page.  Only over a none PTE: a
/// marker is kept (`EEXIST`), unlike COPY.
fn mfill_atomic_pte_zeropage<'a>(
    vma: &'a VmaRef,
    pmd: PmdRef<'a>,
    zero: &mut ZeroPteCache<'_>,
) -> Result {
    let Some(zero) = zero.get(pmd.addr()) else {
        // C: `mfill_atomic_pte_zeroed_folio()`, never write-protected.
        let mut folio = Folio::alloc_anon(vma, pmd.addr(), true)?;
        folio.prepare_new(vma)?;
        let flags = MfillFlags::new(MfillMode::Zeropage, false);
        return install_new_folio(vma, pmd, folio, flags);
    };
    let mut table = lock_for_fill(vma, pmd)?;
    if !table.get().is_none() {
        return Err(EEXIST);
    }
    table.set_over_none_mostly(zero)
}

/// C: `mfill_atomic_pte_continue()`: maps the page the shmem page cache
/// already holds (never allocates: `EFAULT` without one; `EIO` for a page
/// with a memory error).
fn mfill_atomic_pte_continue(shmem: &ShmemVma, pmd: PmdRef<'_>, flags: MfillFlags) -> Result {
    let folio = shmem.get_folio_noalloc(pmd.addr())?;
    if folio.page_hwpoison() {
        return Err(EIO);
    }
    lock_for_fill(shmem, pmd)?.install_cache_folio(folio, flags)
}

/// C: `mfill_atomic_pte_poison()`: a poisoned marker, so that an access
/// raises `SIGBUS`.  Only over a none PTE: never over a marker.
fn mfill_atomic_pte_poison<'a>(vma: &'a VmaRef, pmd: PmdRef<'a>) -> Result {
    let mut table = lock_for_fill(vma, pmd)?;
    if !table.get().is_none() {
        return Err(EEXIST);
    }
    table.set_over_none_mostly(Pte::new_marker(PteMarker::POISONED))
}
