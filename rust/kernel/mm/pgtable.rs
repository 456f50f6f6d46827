// SPDX-License-Identifier: GPL-2.0

//! PTEs under their page-table lock.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h)
//! (`pte_offset_map_lock()`, `pte_unmap_unlock()`).
//!
//! [`PteSlot`] is a PTE whose table lock is held, whoever took it.  We take
//! it with [`PteTableGuard`], which derefs to the slot; C callers that hold
//! it pass runs of slots ([`PteRun`]).  [`PmdRef`] is the PMD entry a fill
//! found or allocated, from which it locks the PTE table.

use super::{
    arch,
    folio::{Folio, FolioPage, LockedFolio},
    pte::Pte,
    shmem::ShmemNewFolio,
    uffd::MfillFlags,
    virt::{self, VmaRef},
};
use crate::{
    bindings,
    error::{code::*, Error, Result},
};
use core::{marker::PhantomData, ops::Deref, ptr::NonNull};

/// One PTE whose page-table lock is held.
///
/// # Invariants
///
/// `ptep` is the PTE of `addr` in a mapped page table of `mm` whose lock is
/// held for `'a`.
pub struct PteSlot<'a> {
    mm: *mut bindings::mm_struct,
    addr: usize,
    ptep: *mut bindings::pte_t,
    _ptl: PhantomData<&'a mut bindings::pte_t>,
}

impl PteSlot<'_> {
    /// The address the PTE maps.
    #[inline]
    pub fn addr(&self) -> usize {
        self.addr
    }

    /// The PTE (C: `ptep_get()`).
    #[inline]
    pub fn get(&self) -> Pte {
        // SAFETY: mapped, and its lock held (type invariant).
        unsafe { arch::ptep_get(self.ptep) }
    }

    /// Replaces a none PTE with `pte`, a non-present one (a marker): no TLB
    /// flush or MMU-cache update is needed for that (C: `set_pte_at()`).  A
    /// PTE that is not none is left alone, with a warning, since
    /// overwriting it would lose what it maps; `EEXIST` then.
    #[inline]
    pub fn set_non_present_over_none(&mut self, pte: Pte) -> Result {
        if !self.get().is_none() || pte.is_present() {
            // SAFETY: no preconditions; warns once.
            unsafe { bindings::uffd_rs_warn_pte_not_none() };
            return Err(EEXIST);
        }
        // SAFETY: the PTE is mapped and its lock held (type invariant); it
        // is none, so nothing is unmapped and no TLB entry can exist.
        unsafe { bindings::set_pte_at(self.mm, self.addr as _, self.ptep, pte.into_raw()) };
        Ok(())
    }
}

/// A PTE table mapped and locked by us, with the slot of one address.
///
/// # Invariants
///
/// `slot.ptep` was mapped by `pte_offset_map_lock()`, whose lock `ptl` is
/// held until the guard is dropped; `vma`, the VMA of `slot.addr`, is
/// locked for `'a`.
pub struct PteTableGuard<'a> {
    slot: PteSlot<'a>,
    ptl: *mut bindings::spinlock_t,
    vma: &'a VmaRef,
}

impl<'a> PteTableGuard<'a> {
    /// Maps and locks the page table that holds the PTE of `addr` in `vma`.
    ///
    /// Returns `Ok(None)` when there is no PTE table there (nothing mapped
    /// yet at that level, or a huge PMD), `EINVAL` when `addr` is outside
    /// the VMA, and `EOPNOTSUPP` for hugetlb VMAs, whose entries live at
    /// other levels and have their own lock.
    #[inline]
    pub fn lock(vma: &'a VmaRef, addr: usize) -> Result<Option<Self>> {
        if addr < vma.start() || addr >= vma.end() {
            return Err(EINVAL);
        }
        if vma.is_hugetlb() {
            // `EOPNOTSUPP` is not among 6.12's `error::code` constants.
            return Err(Error::from_errno(-(bindings::EOPNOTSUPP as i32)));
        }
        // SAFETY: `vma` is locked for `'a` (the `VmaRef` invariant), which
        // keeps its mm and the upper page-table levels from being freed;
        // the walk only reads the upper levels.
        let pmd = unsafe { bindings::uffd_rs_find_pmd(vma.mm().as_ptr(), addr as _) };
        let Some(pmd) = NonNull::new(pmd) else {
            return Ok(None);
        };
        // SAFETY: `pmd` is the PMD entry of `addr`, an address of `vma`
        // (checked above), in its mm's page tables; `vma` is locked for
        // `'a`.
        Self::lock_pmd(unsafe { PmdRef::from_raw(pmd, addr, vma) })
    }

    /// Maps and locks the PTE table that `pmd` points at, for its address
    /// (C: `pte_offset_map_lock()`).  `Ok(None)` when the PMD no longer
    /// points at a PTE table (khugepaged may have collapsed it).
    #[inline]
    pub fn lock_pmd(pmd: PmdRef<'a>) -> Result<Option<Self>> {
        let PmdRef { pmd, addr, vma } = pmd;
        let mm = vma.mm().as_ptr();
        let mut ptl: *mut bindings::spinlock_t = core::ptr::null_mut();
        // SAFETY: `pmd` is the PMD of `addr` in the page tables of `vma`'s
        // mm, kept in place by the VMA lock (`PmdRef` invariant);
        // `__pte_offset_map_lock()` (what C's `pte_offset_map_lock()`
        // expands to, called directly) checks that it points at a PTE table
        // and, if so, maps it and takes its lock.
        let ptep =
            unsafe { bindings::__pte_offset_map_lock(mm, pmd.as_ptr(), addr as _, &mut ptl) };
        if ptep.is_null() {
            return Ok(None);
        }
        // INVARIANT: `ptep` is mapped and `ptl` is held.
        Ok(Some(Self {
            slot: PteSlot {
                mm,
                addr,
                ptep,
                _ptl: PhantomData,
            },
            ptl,
            vma,
        }))
    }

    /// Maps the page of `folio`, a new anonymous folio, here (the second
    /// half of C's `mfill_atomic_install_pte()`), where the PTE is none or
    /// a marker: dirty, writable if the VMA is, uffd-wp if `flags` say so,
    /// with a new exclusive anon rmap, the LRU and the RSS counter.  The
    /// folio's reference goes to the mapping.  Then the PTE lock is
    /// released, and on an error the folio is put after it, as C does.
    ///
    /// `EEXIST` if the PTE maps something; `EINVAL` in a shared VMA or one
    /// without its anon_vma, where an anonymous page cannot go.
    #[inline]
    pub fn install_new_anon_folio(mut self, folio: Folio, flags: MfillFlags) -> Result {
        let ret = self.install_anon_folio(folio, flags);
        drop(self);
        // After the PTE lock, as C does: put on an error.
        ret.map_err(|(e, _folio)| e)
    }

    /// As [`Self::install_new_anon_folio`], but the table stays locked
    /// (for the next page of a run), and on an error the folio comes back:
    /// drop it after the guard, as C puts it after the PTE lock.
    #[inline]
    pub fn install_anon_folio(
        &mut self,
        folio: Folio,
        flags: MfillFlags,
    ) -> core::result::Result<(), (Error, Folio)> {
        if self.vma.is_shared() || !self.vma.has_anon_vma() {
            return Err((EINVAL, folio));
        }
        match self.install_page(&folio.page(), flags, false) {
            Ok(()) => {
                // The reference is the mapping's now.
                folio.into_mapped();
                Ok(())
            }
            Err(e) => Err((e, folio)),
        }
    }

    /// Maps the page of `folio`, a locked page-cache folio, here, where
    /// the PTE is none or a marker: as [`Self::install_new_anon_folio`],
    /// but with a file rmap, and never writable in a private mapping (the
    /// first write must copy the page).  The folio's reference goes to the
    /// mapping.  The table stays locked (for the next page of a run), and
    /// the folio is unlocked at once, under the PTE lock, as C's
    /// fault-around (`filemap_map_pages()`) does.  On an error (`EEXIST`
    /// if the PTE maps something) the folio comes back, locked and
    /// referenced: drop it after the guard, as C puts it after the PTE
    /// lock.
    #[inline]
    pub fn install_cache_folio(
        &mut self,
        folio: LockedFolio,
        flags: MfillFlags,
    ) -> core::result::Result<(), (Error, LockedFolio)> {
        match self.install_page(&folio.page(), flags, false) {
            Ok(()) => {
                folio.unlock_mapped();
                Ok(())
            }
            Err(e) => Err((e, folio)),
        }
    }

    /// Maps the page of `folio`, a shmem folio this fill just added to the
    /// page cache, here (the end of C's `shmem_mfill_atomic_pte()`): as
    /// [`Self::install_cache_folio`] (but taking the guard), and the folio
    /// joins the LRU.  Then
    /// the PTE lock is released, the inode counts the page, and the folio
    /// is unlocked.  On an error (`EEXIST` if the PTE maps something,
    /// `EINVAL` for a folio added for another address or VMA) the folio
    /// leaves the page cache again once the lock is released.
    #[inline]
    pub fn install_new_shmem_folio(
        mut self,
        folio: ShmemNewFolio<'_>,
        flags: MfillFlags,
    ) -> Result {
        let ret = if folio.is_for(self.vma, self.slot.addr) {
            self.install_page(&folio.page(), flags, true)
        } else {
            Err(EINVAL)
        };
        // The PTE lock first: taking the folio out of the page cache and
        // giving its block back may sleep.
        drop(self);
        ret?;
        folio.mapped();
        Ok(())
    }

    /// Maps `page` here if the PTE is none or a marker; the callers above
    /// give it a folio whose reference they hand to the mapping.
    #[inline]
    fn install_page(&mut self, page: &FolioPage<'_>, flags: MfillFlags, new: bool) -> Result {
        if !self.get().is_none_mostly() {
            return Err(EEXIST);
        }
        let vma = self.vma;
        let mut pte_flags = 0;
        if vma.flags() & virt::flags::WRITE != 0 && (vma.is_shared() || !page.in_page_cache()) {
            pte_flags |= bindings::UFFD_RS_PTE_WRITABLE;
        }
        if flags.wp() {
            pte_flags |= bindings::UFFD_RS_PTE_UFFD_WP;
        }
        if page.in_page_cache() {
            pte_flags |= bindings::UFFD_RS_PTE_IN_CACHE;
        }
        if new {
            pte_flags |= bindings::UFFD_RS_PTE_NEW;
        }
        // SAFETY: the PTE is mapped and locked (type invariant) and maps
        // nothing, so the page gets one new mapping here, for the folio
        // reference the caller hands over (an anonymous folio is new and
        // its VMA private with an anon_vma, checked by the caller); the
        // page is held by the borrow of its folio and the VMA is locked
        // for `'a`.
        unsafe {
            bindings::uffd_rs_install_pte(
                vma.as_ptr(),
                self.slot.addr as _,
                self.slot.ptep,
                page.as_ptr(),
                pte_flags,
            )
        };
        Ok(())
    }

    /// Moves the guard on to the next page's PTE, if that is in the same
    /// table and its address in the same VMA; `false` (the guard stays
    /// where it is) otherwise.  A fill of a run of pages so takes the
    /// table's lock once per table, where C takes it once per page.
    #[inline]
    pub fn next_page(&mut self) -> bool {
        let next = self.slot.addr.wrapping_add(bindings::PAGE_SIZE);
        if next >= self.vma.end() || (next ^ self.slot.addr) >> bindings::PMD_SHIFT != 0 {
            return false;
        }
        // SAFETY: `next` is in the same `PMD_SIZE` block as the current
        // address, so its PTE is the next entry of the same mapped table,
        // whose lock is held (type invariant); it is in the same VMA.
        self.slot.ptep = unsafe { self.slot.ptep.add(1) };
        // INVARIANT: `ptep` is the PTE of `next`, in the same locked table.
        self.slot.addr = next;
        true
    }

    /// Sets the PTE to `pte` where it is none or a marker, which maps
    /// nothing, so no TLB flush is needed (C: `set_pte_at()`, then
    /// `update_mmu_cache()`).  `EEXIST` if it maps something.
    #[inline]
    pub fn set_over_none_mostly(&mut self, pte: Pte) -> Result {
        if !self.get().is_none_mostly() {
            return Err(EEXIST);
        }
        // SAFETY: the PTE is mapped and locked (type invariant) and maps
        // nothing; `set_pte_at()` and `update_mmu_cache()` for the VMA.
        unsafe {
            bindings::uffd_rs_set_pte(
                self.vma.as_ptr(),
                self.slot.addr as _,
                self.slot.ptep,
                pte.into_raw(),
            )
        };
        Ok(())
    }
}

impl<'a> Deref for PteTableGuard<'a> {
    type Target = PteSlot<'a>;

    #[inline]
    fn deref(&self) -> &PteSlot<'a> {
        &self.slot
    }
}

impl Drop for PteTableGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the table is mapped and `ptl` held (type invariant); both
        // are released exactly once, here.
        unsafe { bindings::pte_unmap_unlock(self.slot.ptep, self.ptl) };
    }
}

/// A run of `nr` consecutive PTEs of one page table, whose lock the caller
/// holds: what C code passes when it asks us to change PTEs in place.
///
/// # Invariants
///
/// `ptep` points at the PTE of `addr` in a mapped page table of `mm`, the
/// run of `nr` PTEs from it stays within that table, and the table's lock
/// is held for `'a`.
pub struct PteRun<'a> {
    mm: *mut bindings::mm_struct,
    addr: usize,
    ptep: *mut bindings::pte_t,
    nr: usize,
    _ptl: PhantomData<&'a mut bindings::pte_t>,
}

impl<'a> PteRun<'a> {
    /// Makes a run from what a C caller passes.
    ///
    /// # Safety
    ///
    /// `ptep` must point at the PTE of `addr` in a page table of `mm` that
    /// is mapped, whose lock the caller holds for `'a`, and which holds
    /// `nr` PTEs from `ptep` on.
    #[inline]
    pub unsafe fn from_raw(
        mm: *mut bindings::mm_struct,
        addr: usize,
        ptep: *mut bindings::pte_t,
        nr: usize,
    ) -> Self {
        // INVARIANT: the caller's promises.
        Self {
            mm,
            addr,
            ptep,
            nr,
            _ptl: PhantomData,
        }
    }

    /// The PTEs of the run one by one, with their addresses.
    #[inline]
    pub fn slots(&mut self) -> impl Iterator<Item = PteSlot<'_>> + '_ {
        let (mm, addr, ptep) = (self.mm, self.addr, self.ptep);
        (0..self.nr).map(move |i| PteSlot {
            mm,
            addr: addr + i * bindings::PAGE_SIZE,
            // INVARIANT: `i < nr`: inside the table (type invariant).
            ptep: ptep.wrapping_add(i),
            _ptl: PhantomData,
        })
    }
}

/// The PMD entry of an address whose PTE table a fill has just made sure of
/// ([`VmaRef::prepare_pte_table`]).
///
/// # Invariants
///
/// `pmd` is the PMD entry of `addr`, an address of `vma`, in its mm's page
/// tables; `vma` is locked for `'a`, which keeps the PMD table in place
/// (the entry itself may change).
#[derive(Clone, Copy)]
pub struct PmdRef<'a> {
    pmd: NonNull<bindings::pmd_t>,
    addr: usize,
    vma: &'a VmaRef,
}

impl<'a> PmdRef<'a> {
    /// Records the PMD entry of `addr`, an address of `vma`.
    ///
    /// # Safety
    ///
    /// `pmd` must be the PMD entry of `addr` in the page tables of `vma`'s
    /// mm, and `vma` must be locked for `'a`.
    #[inline]
    pub unsafe fn from_raw(pmd: NonNull<bindings::pmd_t>, addr: usize, vma: &'a VmaRef) -> Self {
        // INVARIANT: the caller's promise.
        Self { pmd, addr, vma }
    }

    /// The address this entry was made for.
    #[inline]
    pub fn addr(&self) -> usize {
        self.addr
    }

    /// The same entry as the PMD entry of `addr`, if it is one: `addr` is
    /// an address of the same VMA in the `PMD_SIZE` block this entry maps.
    /// A loop over the pages of a range can so walk the upper page-table
    /// levels once per PTE table rather than once per page.  Whether that
    /// PTE table is still there is for [`PteTableGuard::lock_pmd`] to tell.
    #[inline]
    pub fn for_addr(self, addr: usize) -> Option<Self> {
        if addr < self.vma.start()
            || addr >= self.vma.end()
            || (addr ^ self.addr) >> bindings::PMD_SHIFT != 0
        {
            return None;
        }
        // SAFETY: one PMD entry maps the whole aligned `PMD_SIZE` block, so
        // `pmd` is also the entry of `addr`, which lies in the same VMA,
        // still locked for `'a` (type invariant).
        Some(unsafe { Self::from_raw(self.pmd, addr, self.vma) })
    }
}
