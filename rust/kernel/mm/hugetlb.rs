// SPDX-License-Identifier: GPL-2.0

//! hugetlb VMAs, and the locks and entries of a hugetlb fill.
//!
//! C header: [`include/linux/hugetlb.h`](srctree/include/linux/hugetlb.h).
//!
//! A hugetlb page is filled under two more locks than a PTE: the fault
//! mutex of its page-cache index, which serializes the fill with faults on
//! the same page, and the hugetlb VMA lock, which keeps page tables shared
//! between processes (shared PMDs) in place.  [`HugetlbFillLock`] holds
//! both, and the huge PTE they protect.

use super::{
    arch,
    folio::{Folio, LockedFolio},
    pte::Pte,
    uffd::MfillFlags,
    virt::{self, VmaRef},
};
use crate::{
    bindings,
    error::{code::*, to_result, Result},
};
use core::{mem::ManuallyDrop, ops::Deref, ptr::NonNull};

/// A hugetlb VMA: a [`VmaRef`] known to be hugetlb.  Made by
/// [`VmaRef::as_hugetlb`].
///
/// # Invariants
///
/// The VMA is a hugetlb VMA (`VM_HUGETLB`), stable as [`VmaRef`] says.
#[repr(transparent)]
pub struct HugetlbVma {
    vma: VmaRef,
}

impl Deref for HugetlbVma {
    type Target = VmaRef;

    #[inline]
    fn deref(&self) -> &VmaRef {
        &self.vma
    }
}

impl VmaRef {
    /// The VMA as a hugetlb VMA, if it is one (C: `is_vm_hugetlb_page()`).
    #[inline]
    pub fn as_hugetlb(&self) -> Option<&HugetlbVma> {
        if self.is_hugetlb() {
            // SAFETY: `HugetlbVma` is a transparent wrapper of `VmaRef`,
            // and the VMA is hugetlb (checked above) while it is stable.
            Some(unsafe { &*(self as *const Self).cast::<HugetlbVma>() })
        } else {
            None
        }
    }
}

impl HugetlbVma {
    /// The size of the VMA's huge pages in bytes (C:
    /// `huge_page_size(hstate_vma())`, what `vma_kernel_pagesize()` gives
    /// without its indirect call).
    #[inline]
    pub fn page_size(&self) -> usize {
        // SAFETY: a stable hugetlb VMA (type invariant), whose file is a
        // hugetlbfs one with its hstate.
        unsafe { bindings::uffd_rs_hugetlb_page_size(self.as_ptr()) as usize }
    }

    /// The page-cache index, in huge pages, of the huge page at `addr`
    /// (C: `hugetlb_linear_page_index()`).
    #[inline]
    pub fn huge_page_index(&self, addr: usize) -> u64 {
        let shift = self.page_size().trailing_zeros();
        let order = shift - bindings::PAGE_SHIFT;
        ((addr.wrapping_sub(self.start()) >> shift) as u64)
            .wrapping_add((self.pgoff() >> order) as u64)
    }
}

/// The fault mutex and the hugetlb VMA lock for one huge page of a VMA,
/// and its huge PTE.
///
/// # Invariants
///
/// The fault mutex of hash `hash` and the hugetlb VMA read lock of `vma`
/// are held while the value exists; `addr` is a huge-page-aligned address
/// of `vma`, a hugetlb VMA locked for `'a`; `ptep` is its huge PTE, kept
/// in place by those locks.
pub struct HugetlbFillLock<'a> {
    vma: &'a HugetlbVma,
    addr: usize,
    hash: u32,
    ptep: NonNull<bindings::pte_t>,
}

impl<'a> HugetlbFillLock<'a> {
    /// Takes the locks for the huge page at `addr` of `vma`, and allocates
    /// the page-table levels down to its huge PTE (C: the start of the
    /// loop of `mfill_atomic_hugetlb()`).  `EINVAL` if `addr` is not an
    /// address of `vma` aligned to `size`, its page size; `ENOMEM` if the
    /// huge PTE cannot be allocated (the locks are released then).
    #[inline]
    pub fn lock(vma: &'a HugetlbVma, addr: usize, size: usize) -> Result<Self> {
        if addr < vma.start()
            || addr >= vma.end()
            || !size.is_power_of_two()
            || addr & (size - 1) != 0
        {
            return Err(EINVAL);
        }
        let mut ptep = core::ptr::null_mut();
        // SAFETY: `vma` is a locked hugetlb VMA (so it has a file) and
        // `addr` an address of it; the function sleeps on a mutex and an
        // rwsem, which we may, and allocates with both held, as
        // `huge_pte_alloc()` requires.
        let hash = unsafe { bindings::uffd_rs_hugetlb_lock(vma.as_ptr(), addr as _, &mut ptep) };
        let Some(ptep) = NonNull::new(ptep) else {
            // SAFETY: both locks were taken just above; released once.
            unsafe { bindings::uffd_rs_hugetlb_unlock(vma.as_ptr(), hash) };
            return Err(ENOMEM);
        };
        // INVARIANT: both locks were just taken; `ptep` is the entry.
        Ok(Self {
            vma,
            addr,
            hash,
            ptep,
        })
    }

    /// The entry (C: `huge_ptep_get()`).
    #[inline]
    pub fn get(&self) -> Pte {
        // SAFETY: the entry of `addr` in the VMA's mm, in place while the
        // locks are held (type invariant).
        unsafe { arch::huge_ptep_get(self.vma.mm().as_ptr(), self.addr, self.ptep.as_ptr()) }
    }

    /// The locked huge page's address.
    #[inline]
    pub fn addr(&self) -> usize {
        self.addr
    }

    /// The VMA.
    #[inline]
    pub fn vma(&self) -> &'a HugetlbVma {
        self.vma
    }

    /// Takes the huge PTE's own lock (C: `huge_pte_lock()`).
    #[inline]
    pub fn lock_pte(&self) -> HugePteGuard<'_> {
        // SAFETY: `ptep` is a huge PTE of the VMA kept in place by the
        // locks we hold (type invariant); taking its spinlock is what C
        // does next under them.
        let ptl = unsafe { bindings::uffd_rs_huge_pte_lock(self.vma.as_ptr(), self.ptep.as_ptr()) };
        // INVARIANT: the lock of `ptep`, just taken.
        HugePteGuard { lock: self, ptl }
    }

    /// Whether the VMA's page cache holds the page (C:
    /// `hugetlbfs_pagecache_present()`).
    #[inline]
    pub fn pagecache_present(&self) -> bool {
        // SAFETY: a locked hugetlb VMA (so with a file) and an address of
        // it; the fault mutex serializes with additions to the cache.
        unsafe { bindings::uffd_rs_hugetlb_pagecache_present(self.vma.as_ptr(), self.addr as _) }
    }

    /// The page-cache folio of the page, locked and referenced, to map
    /// here (C: `filemap_lock_hugetlb_folio()`); `EFAULT` without one.
    #[inline]
    pub fn lock_cache_folio<'l>(&'l self) -> Result<HugetlbFillFolio<'l>> {
        // SAFETY: as for `pagecache_present`; the lookup returns a locked,
        // referenced folio or NULL.
        let folio = unsafe {
            bindings::uffd_rs_hugetlb_lock_cache_folio(self.vma.as_ptr(), self.addr as _)
        };
        let folio = NonNull::new(folio).ok_or(EFAULT)?;
        // SAFETY: `folio` is a valid folio; its first page is its `page`.
        let page =
            unsafe { NonNull::new_unchecked(&raw mut (*folio.as_ptr()).__bindgen_anon_1.page) };
        // SAFETY: locked and referenced by the lookup, for us; `page` is
        // its first page, the one a huge PTE maps.
        let folio = unsafe { LockedFolio::from_raw(folio, page) };
        // INVARIANT: the huge folio of this lock's page in its VMA's page
        // cache, locked by the lookup.
        Ok(HugetlbFillFolio {
            lock: self,
            kind: FillFolioKind::Cache { folio, new: false },
        })
    }

    /// A new huge folio for the page, from the VMA's reservation if it
    /// has one (C: `alloc_hugetlb_folio()`); `ENOMEM` when the pool has
    /// none left for us.  It lives no longer than the locks.
    #[inline]
    pub fn alloc_folio<'l>(&'l self) -> Result<HugetlbNewFolio<'l>> {
        // SAFETY: a locked hugetlb VMA and an address of it, under the
        // fault mutex as the allocation of a page for it requires.
        let folio =
            unsafe { bindings::uffd_rs_hugetlb_alloc_folio(self.vma.as_ptr(), self.addr as _) };
        let folio = NonNull::new(folio).ok_or(ENOMEM)?;
        // INVARIANT: a new folio allocated for this lock's page.
        Ok(HugetlbNewFolio {
            // SAFETY: a new folio comes with one reference, ours.
            folio: ManuallyDrop::new(unsafe { Folio::from_raw(folio) }),
            lock: self,
        })
    }

    /// A huge folio to copy the source into once the locks are dropped,
    /// consuming no reservation (C: `alloc_hugetlb_folio_vma()`);
    /// `ENOMEM` without one.
    #[inline]
    pub fn alloc_temp_folio(&self) -> Result<HugetlbTempFolio> {
        // SAFETY: a locked hugetlb VMA and an address of it.
        let folio = unsafe {
            bindings::uffd_rs_hugetlb_alloc_temp_folio(self.vma.as_ptr(), self.addr as _)
        };
        let folio = NonNull::new(folio).ok_or(ENOMEM)?;
        // INVARIANT: a hugetlb folio of the VMA's page size.
        Ok(HugetlbTempFolio {
            // SAFETY: a new folio comes with one reference, ours.
            folio: unsafe { Folio::from_raw(folio) },
            size: self.vma.page_size(),
        })
    }

    /// Whether the page lies at or beyond the end of the VMA's file, in
    /// whole huge pages (the size check of C's `hugetlb_mfill_atomic_pte()`
    /// before a page is added to the page cache).
    #[inline]
    pub fn beyond_eof(&self) -> bool {
        let shift = self.vma.page_size().trailing_zeros();
        let index = self.vma.huge_page_index(self.addr);
        self.vma
            .file_size()
            .is_some_and(|size| index >= (size as u64) >> shift)
    }
}

impl Drop for HugetlbFillLock<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: both locks are held (type invariant), released once.
        unsafe { bindings::uffd_rs_hugetlb_unlock(self.vma.as_ptr(), self.hash) };
    }
}

/// A huge folio filled outside the locks for a COPY that must be retried
/// (the source could not be read with page faults disabled): it holds no
/// reservation, and the retry copies it into a [`HugetlbNewFolio`].
///
/// # Invariants
///
/// `folio` is a hugetlb folio of `size` bytes, whose only reference is
/// ours.
pub struct HugetlbTempFolio {
    folio: Folio,
    size: usize,
}

impl HugetlbTempFolio {
    /// Copies the whole huge page from user address `src`; may fault and
    /// sleep, so no mm lock may be held.  `EFAULT` if the source is not
    /// readable.
    #[inline]
    pub fn copy_from_user(&mut self, src: usize) -> Result {
        self.folio.copy_from_user(src)
    }
}

/// A new huge folio, allocated for the page of a [`HugetlbFillLock`] and
/// not mapped or in a page cache yet.  It may hold one of the VMA's
/// reservations: dropping it gives that back and the folio with it (C:
/// `restore_reserve_on_error()`, then `folio_put()`).  It borrows the
/// lock, so it cannot outlive the fault mutex that serializes it with
/// truncation.
///
/// # Invariants
///
/// `folio` is a new hugetlb folio allocated by `alloc_hugetlb_folio()` for
/// the page of `lock`, whose only reference is ours.
pub struct HugetlbNewFolio<'l> {
    folio: ManuallyDrop<Folio>,
    lock: &'l HugetlbFillLock<'l>,
}

impl<'l> HugetlbNewFolio<'l> {
    /// Copies the huge page from user address `src` with page faults
    /// disabled (the caller holds mm locks); `false` if any byte could not
    /// be copied (C: `copy_folio_from_user(..., false)`).
    #[inline]
    pub fn copy_from_user_nofault(&mut self, src: usize) -> bool {
        // SAFETY: the folio is ours alone (type invariant); a bad user
        // address only makes the copy come up short.
        unsafe {
            bindings::uffd_rs_hugetlb_copy_from_user_nofault(self.folio.as_ptr(), src as _) == 0
        }
    }

    /// Copies `src`, a huge folio filled outside the locks, into this one
    /// (C: `copy_user_large_folio()`); its errors (`EHWPOISON` for a
    /// source page with a memory error), and `EINVAL` if `src` is not of
    /// this VMA's huge page size.
    #[inline]
    pub fn copy_from(&mut self, src: &HugetlbTempFolio) -> Result {
        let vma = self.lock.vma;
        if src.size != vma.page_size() {
            return Err(EINVAL);
        }
        // SAFETY: two hugetlb folios of one huge page each (checked above
        // and by the type invariants), the destination ours alone; `addr`
        // is the page's address in the locked VMA.
        to_result(unsafe {
            bindings::copy_user_large_folio(
                self.folio.as_ptr(),
                src.folio.as_ptr(),
                self.lock.addr as _,
                vma.as_ptr(),
            )
        })
    }

    /// Marks the folio up to date: its contents are written, and the
    /// barrier in it orders them before the PTE that maps it (C:
    /// `__folio_mark_uptodate()`).
    #[inline]
    pub fn mark_uptodate(&mut self) {
        // SAFETY: the folio is ours alone and not visible to anyone yet.
        unsafe { bindings::uffd_rs_folio_mark_uptodate(self.folio.as_ptr()) };
    }

    /// The folio, to be mapped as a new anonymous page of a private
    /// mapping.
    #[inline]
    pub fn into_private(self) -> HugetlbFillFolio<'l> {
        // INVARIANT: a new folio of the lock's page.
        HugetlbFillFolio {
            lock: self.lock,
            kind: FillFolioKind::New(self),
        }
    }

    /// Adds the folio to the page cache of the (shared) VMA at its page
    /// (C: `hugetlb_add_to_page_cache()`), to be mapped: it is locked, and
    /// the page cache holds its reservation from now on.  Errors as C
    /// gives them (`EEXIST` if a page got there first), the folio dropped
    /// then.
    #[inline]
    pub fn add_to_page_cache(self) -> Result<HugetlbFillFolio<'l>> {
        let lock = self.lock;
        // SAFETY: the folio is new and ours (type invariant); `self`
        // borrows the lock, so the fault mutex of the page is held, which
        // serializes the insertion with truncation.
        to_result(unsafe {
            bindings::uffd_rs_hugetlb_add_to_page_cache(
                lock.vma.as_ptr(),
                lock.addr as _,
                self.folio.as_ptr(),
            )
        })?;
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used again; its reference moves on.
        let folio = unsafe { ManuallyDrop::take(&mut this.folio) }.into_raw();
        // SAFETY: `folio` is a valid folio; its first page is its `page`.
        let page =
            unsafe { NonNull::new_unchecked(&raw mut (*folio.as_ptr()).__bindgen_anon_1.page) };
        // SAFETY: locked by the insertion, with our reference; `page` is
        // its first page.
        let folio = unsafe { LockedFolio::from_raw(folio, page) };
        // INVARIANT: the huge folio of the lock's page, just added to the
        // page cache and locked.
        Ok(HugetlbFillFolio {
            lock,
            kind: FillFolioKind::Cache { folio, new: true },
        })
    }
}

impl Drop for HugetlbNewFolio<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the folio was never mapped or cached, and its reference
        // is ours (type invariant): given back once, here, with the
        // reservation it may hold.
        unsafe {
            bindings::uffd_rs_hugetlb_put_new_folio(
                self.lock.vma.as_ptr(),
                self.lock.addr as _,
                self.folio.as_ptr(),
            )
        };
    }
}

/// The folio a hugetlb fill maps at the page of `lock`: made only by
/// [`HugetlbFillLock::lock_cache_folio`] (CONTINUE),
/// [`HugetlbNewFolio::add_to_page_cache`] (a shared COPY) and
/// [`HugetlbNewFolio::into_private`] (a private COPY).
///
/// # Invariants
///
/// The folio is the huge folio for the page of `lock`: a new one
/// (`New`), or the one in the VMA's page cache at that page, locked by us
/// (`Cache`; `new` if this fill added it).
pub struct HugetlbFillFolio<'l> {
    lock: &'l HugetlbFillLock<'l>,
    kind: FillFolioKind<'l>,
}

enum FillFolioKind<'l> {
    New(HugetlbNewFolio<'l>),
    Cache { folio: LockedFolio, new: bool },
}

impl HugetlbFillFolio<'_> {
    /// C: `folio_test_hwpoison()`.
    #[inline]
    fn test_hwpoison(&self) -> bool {
        match &self.kind {
            FillFolioKind::New(folio) => folio.folio.test_hwpoison(),
            FillFolioKind::Cache { folio, .. } => folio.folio().test_hwpoison(),
        }
    }
}

/// A huge PTE under its own lock, inside a [`HugetlbFillLock`].
///
/// # Invariants
///
/// `ptl` is the lock of `lock`'s huge PTE, held until the guard is
/// dropped.
pub struct HugePteGuard<'a> {
    lock: &'a HugetlbFillLock<'a>,
    ptl: *mut bindings::spinlock_t,
}

impl HugePteGuard<'_> {
    /// The entry (C: `huge_ptep_get()`).
    #[inline]
    pub fn get(&self) -> Pte {
        self.lock.get()
    }

    /// Sets the entry to `pte`, a marker, where it is none: nothing was
    /// mapped, so no TLB flush is needed (C: `set_huge_pte_at()`, then
    /// `update_mmu_cache()`).  `EEXIST` if the entry is not none (a marker
    /// counts), or if `pte` is not a marker.
    #[inline]
    pub fn set_marker_over_none(&mut self, pte: Pte) -> Result {
        if !self.get().is_huge_none() || !pte.is_marker() {
            return Err(EEXIST);
        }
        let lock = self.lock;
        // SAFETY: the entry of `addr`, locked (type invariant) and none,
        // in its VMA kept by the fill lock; a marker maps nothing.
        unsafe {
            bindings::uffd_rs_set_huge_pte(
                lock.vma.as_ptr(),
                lock.addr as _,
                lock.ptep.as_ptr(),
                pte.into_raw(),
            )
        };
        Ok(())
    }

    /// Maps `folio` here, where the entry is none or a marker (the end of
    /// C's `hugetlb_mfill_atomic_pte()`): dirty and young, uffd-wp if
    /// `flags` say so, writable where the VMA is, unless write-protected
    /// or a page-cache page of a private mapping (its first write must
    /// copy it), with the rmap and RSS of its kind.  The reference goes to
    /// the mapping; a page-cache folio is unlocked, then the entry's lock
    /// is released, as C does.  On an error the folio is dropped after the
    /// lock is released.
    ///
    /// `EINVAL` for a folio made under another lock, or a new anonymous
    /// one in a shared VMA or one without its anon_vma; `EIO` for a folio
    /// with a memory error; `EEXIST` if the entry maps something.
    #[inline]
    pub fn install(self, folio: HugetlbFillFolio<'_>, flags: MfillFlags) -> Result {
        let vma = self.lock.vma;
        let refused = if !core::ptr::eq(folio.lock, self.lock)
            || matches!(folio.kind, FillFolioKind::New(_))
                && (vma.is_shared() || !vma.has_anon_vma())
        {
            // Not this page's folio, or an anonymous page where none may go.
            Some(EINVAL)
        } else if folio.test_hwpoison() {
            Some(EIO)
        } else if !self.get().is_huge_none_mostly() {
            Some(EEXIST)
        } else {
            None
        };
        if let Some(err) = refused {
            // The entry's lock first: giving a reservation back may sleep.
            drop(self);
            drop(folio);
            return Err(err);
        }
        let (ptr, in_cache, new) = match &folio.kind {
            FillFolioKind::New(folio) => (folio.folio.as_ptr(), false, true),
            FillFolioKind::Cache { folio, new } => (folio.folio().as_ptr(), true, *new),
        };
        let mut pte_flags = 0;
        if vma.flags() & virt::flags::WRITE != 0 && !flags.wp() && (vma.is_shared() || new) {
            pte_flags |= bindings::UFFD_RS_PTE_WRITABLE;
        }
        if flags.wp() {
            pte_flags |= bindings::UFFD_RS_PTE_UFFD_WP;
        }
        if in_cache {
            pte_flags |= bindings::UFFD_RS_PTE_IN_CACHE;
        }
        if new {
            pte_flags |= bindings::UFFD_RS_PTE_NEW;
        }
        // SAFETY: the entry is locked (type invariant) and maps nothing;
        // the folio is the huge folio of this page (its invariant, and
        // made under this lock: checked above); its reference goes to the
        // new mapping (below we forget it); a new folio goes into a
        // private VMA with its anon_vma (checked above), a cached one is
        // locked.
        unsafe {
            bindings::uffd_rs_hugetlb_install_pte(
                vma.as_ptr(),
                self.lock.addr as _,
                self.lock.ptep.as_ptr(),
                ptr,
                pte_flags,
            )
        };
        // The page table owns the reference now: a page-cache folio is
        // unlocked before the entry's lock is released, after which a zap
        // may free it.
        match folio.kind {
            FillFolioKind::New(folio) => {
                let _ = ManuallyDrop::new(folio);
            }
            FillFolioKind::Cache { folio, .. } => folio.unlock_mapped(),
        }
        drop(self);
        Ok(())
    }
}

impl Drop for HugePteGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: held (type invariant), released once.
        unsafe { bindings::spin_unlock(self.ptl) };
    }
}
