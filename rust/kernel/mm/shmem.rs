// SPDX-License-Identifier: GPL-2.0

//! What the userfaultfd fill needs of shmem.
//!
//! C header: [`include/linux/shmem_fs.h`](srctree/include/linux/shmem_fs.h).
//!
//! A [`ShmemVma`] is known to be shmem once (its kind is in the type), so
//! a fill never asks C again page by page.

use super::{
    folio::{Folio, FolioPage, LockedFolio},
    virt::{ShmemVma, VmaRef},
};
use crate::{
    bindings,
    error::{code::*, to_result, Result},
};
use core::{mem::ManuallyDrop, ptr::NonNull};

/// The most folios [`ShmemVma::trylock_cache_folios`] takes in one call.
pub const TRYLOCK_MAX: usize = 16;

impl ShmemVma {
    /// The page-cache folio behind `addr`, locked and referenced, never
    /// allocating one (C: `shmem_get_folio(..., SGP_NOALLOC)`).  `EFAULT`
    /// when the page cache has no page there; other errors as shmem gives
    /// them (`EIO` for a poisoned folio, ...).
    #[inline]
    pub fn get_folio_noalloc(&self, addr: usize) -> Result<LockedFolio> {
        let mut folio = core::ptr::null_mut();
        let mut page = core::ptr::null_mut();
        // SAFETY: a stable shmem VMA (type invariant), which has a file;
        // the lookup returns a locked, referenced folio or an error.
        to_result(unsafe {
            bindings::uffd_rs_shmem_get_folio(self.as_ptr(), addr as _, &mut folio, &mut page)
        })?;
        match (NonNull::new(folio), NonNull::new(page)) {
            // SAFETY: locked and referenced by the lookup, and `page` is
            // the page of `addr` in it.
            (Some(folio), Some(page)) => Ok(unsafe { LockedFolio::from_raw(folio, page) }),
            _ => Err(EFAULT),
        }
    }

    /// The page-cache folios behind the pages from `addr` on, one per
    /// slot of `slots`, locked and referenced, as long as taking them
    /// needs no sleep: [`Self::get_folio_noalloc`] would return each as it
    /// is (within the file, uptodate, not poisoned) and its lock is free.
    /// Returns how many slots, from the first, got a folio (at most
    /// [`TRYLOCK_MAX`]); the page after them is where
    /// [`Self::get_folio_noalloc`] tells what is there.  One walk of the
    /// page cache for all of them (C: `uffd_rs_shmem_trylock_folios()`).
    /// For the pages after the first of a run, looked up before the run's
    /// PTE table is locked, so that the run waits for one folio lock only.
    #[inline]
    pub fn trylock_cache_folios(&self, addr: usize, slots: &mut [Option<LockedFolio>]) -> usize {
        let mut folios = [core::ptr::null_mut(); TRYLOCK_MAX];
        let mut pages = [core::ptr::null_mut(); TRYLOCK_MAX];
        let nr = slots.len().min(TRYLOCK_MAX);
        // SAFETY: a stable shmem VMA (type invariant), which has a file;
        // the lookup fills at most `nr` entries of the two arrays, each
        // with a locked, referenced folio and its page for `addr` plus
        // that many pages, and returns how many.
        let got = unsafe {
            bindings::uffd_rs_shmem_trylock_folios(
                self.as_ptr(),
                addr as _,
                nr as _,
                folios.as_mut_ptr(),
                pages.as_mut_ptr(),
            )
        } as usize;
        let got = got.min(nr);
        for i in 0..got {
            let (Some(slot), Some(&folio), Some(&page)) =
                (slots.get_mut(i), folios.get(i), pages.get(i))
            else {
                break;
            };
            *slot = match (NonNull::new(folio), NonNull::new(page)) {
                // SAFETY: locked and referenced by the lookup, and `page`
                // is the page of its address in it.
                (Some(folio), Some(page)) => Some(unsafe { LockedFolio::from_raw(folio, page) }),
                _ => None,
            };
        }
        got
    }

    /// Maps the `PMD_SIZE` block at `addr` with one PMD, if the page cache
    /// holds one PMD-sized folio for all of it and nothing of it is mapped
    /// yet (C: `do_set_pmd()`, what a fault does with such a folio; here
    /// for `UFFDIO_CONTINUE` of the whole block, where upstream maps 512
    /// PTEs).  `addr` must be `PMD_SIZE`-aligned with the block inside the
    /// VMA; the block must lie within the file, the file offset be aligned
    /// as the address, and THP not be disabled for the VMA.  Returns
    /// whether it mapped the block; `false` changes nothing, and the
    /// caller maps the pages one by one (which also reports the errors).
    #[inline]
    pub fn continue_pmd(&self, addr: usize) -> bool {
        let pmd_size = 1usize << bindings::PMD_SHIFT;
        if addr & (pmd_size - 1) != 0
            || addr < self.start()
            || addr >= self.end()
            || self.end() - addr < pmd_size
        {
            return false;
        }
        // SAFETY: a stable shmem VMA (type invariant), which has a file,
        // and `addr` starts an aligned block inside it (checked above).
        unsafe { bindings::uffd_rs_shmem_continue_pmd(self.as_ptr(), addr as _) }
    }

    /// Accounts one block of the file's size limit for a page being
    /// filled (C: `shmem_inode_acct_blocks(inode, 1)`).  `ENOMEM` when it
    /// cannot (the file system is full, a quota or the overcommit limit
    /// refuses it): the fill reports that as C's does, whatever shmem's
    /// own reason.
    #[inline]
    pub fn acct_block(&self) -> Result<ShmemBlockAcct<'_>> {
        // SAFETY: a stable shmem VMA (type invariant), which has a file.
        to_result(unsafe { bindings::uffd_rs_shmem_acct_block(self.as_ptr()) })
            .map_err(|_| ENOMEM)?;
        // INVARIANT: one block, just accounted.
        Ok(ShmemBlockAcct { vma: self })
    }

    /// A new folio of one page for `addr`, with the file's memory policy
    /// and allocation flags, zeroed for `addr` if `zeroed` (C:
    /// `shmem_alloc_folio()`, then `clear_user_highpage()` for ZEROPAGE).
    /// `ENOMEM` when memory is short; `EINVAL` for an address outside the
    /// VMA.
    #[inline]
    pub fn alloc_folio(&self, addr: usize, zeroed: bool) -> Result<Folio> {
        if addr < self.start() || addr >= self.end() {
            return Err(EINVAL);
        }
        // SAFETY: a stable shmem VMA and an address of it.
        let folio =
            unsafe { bindings::uffd_rs_shmem_alloc_folio(self.as_ptr(), addr as _, zeroed) };
        // SAFETY: a new folio comes with one reference, ours.
        NonNull::new(folio)
            .map(|folio| unsafe { Folio::from_raw(folio) })
            .ok_or(ENOMEM)
    }

    /// Adds `folio`, new and filled, to the page cache at `addr`, locked
    /// and charged to the memory cgroup of the VMA's mm (C: the middle of
    /// `shmem_mfill_atomic_pte()`); `acct` is the block it takes.  Errors
    /// as C gives them (`ENOMEM` for the charge, `EEXIST` when a page got
    /// there first), with the folio and the block given back.  `EINVAL` in
    /// a private mapping, whose holes get anonymous pages, for an address
    /// outside the VMA, and for a block accounted through another VMA.
    #[inline]
    pub fn add_new_folio<'a>(
        &'a self,
        addr: usize,
        folio: Folio,
        acct: ShmemBlockAcct<'a>,
    ) -> Result<ShmemNewFolio<'a>> {
        if !self.is_shared()
            || !core::ptr::eq(acct.vma, self)
            || addr < self.start()
            || addr >= self.end()
        {
            return Err(EINVAL);
        }
        let folio = folio.into_raw();
        // SAFETY: a stable shared shmem VMA and an address of it; `folio`
        // is new, ours alone and not locked, its reference handed to the
        // call, which keeps it on success and drops it on an error.
        to_result(unsafe {
            bindings::uffd_rs_shmem_add_folio(self.as_ptr(), addr as _, folio.as_ptr())
        })?;
        // SAFETY: `folio` is a valid folio; its first page is its `page`.
        let page =
            unsafe { NonNull::new_unchecked(&raw mut (*folio.as_ptr()).__bindgen_anon_1.page) };
        // INVARIANT: just added to the page cache, locked, with our
        // reference; `acct` is its block.
        Ok(ShmemNewFolio {
            // SAFETY: locked by the insertion, with our reference; `page`
            // is its only page.
            folio: ManuallyDrop::new(unsafe { LockedFolio::from_raw(folio, page) }),
            acct: ManuallyDrop::new(acct),
            addr,
        })
    }
}

/// One block of a shmem file's size limit, accounted for a page being
/// filled: dropping it gives it back (C: `shmem_inode_unacct_blocks()`).
///
/// # Invariants
///
/// One block is accounted to the inode of `vma`'s file for this value.
pub struct ShmemBlockAcct<'a> {
    vma: &'a ShmemVma,
}

impl Drop for ShmemBlockAcct<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: one block is ours (type invariant), given back once.
        unsafe { bindings::uffd_rs_shmem_unacct_block(self.vma.as_ptr()) };
    }
}

/// A folio a shmem fill has just added to the page cache, locked and not
/// mapped yet.  Dropping it undoes the fill: the folio leaves the page
/// cache, is unlocked and put, and its block is given back (C: the error
/// path of `shmem_mfill_atomic_pte()` after `mfill_atomic_install_pte()`).
///
/// # Invariants
///
/// `folio` is in the page cache of `acct`'s VMA's file at the index of
/// `addr`, an address of that VMA, locked by us, with our reference;
/// `acct` is its block.
pub struct ShmemNewFolio<'a> {
    folio: ManuallyDrop<LockedFolio>,
    acct: ManuallyDrop<ShmemBlockAcct<'a>>,
    addr: usize,
}

impl ShmemNewFolio<'_> {
    /// Whether the folio was added for `addr` of `vma`: where it may be
    /// mapped.
    #[inline]
    pub(super) fn is_for(&self, vma: &VmaRef, addr: usize) -> bool {
        let mine: &VmaRef = self.acct.vma;
        core::ptr::eq(mine, vma) && self.addr == addr
    }

    /// The page to map.
    #[inline]
    pub(super) fn page(&self) -> FolioPage<'_> {
        self.folio.page()
    }

    /// The folio is mapped: the inode counts it, and it is unlocked with
    /// its reference going to the mapping.
    #[inline]
    pub(super) fn mapped(self) {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: the page is in the file's page cache and now mapped
        // (type invariant and our caller): the inode counts it, as C
        // does once the mapping is made.
        unsafe { bindings::uffd_rs_shmem_recalc_inode(this.acct.vma.as_ptr()) };
        // SAFETY: `this` is never used again: the block now belongs to the
        // page, and the folio's reference to the mapping.
        let folio = unsafe { ManuallyDrop::take(&mut this.folio) };
        folio.unlock_mapped();
    }
}

impl Drop for ShmemNewFolio<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the folio is in the page cache and locked by us (type
        // invariant), not mapped: it leaves the cache once.
        unsafe { bindings::filemap_remove_folio(self.folio.folio().as_ptr()) };
        // SAFETY: dropped once, here: unlocks and puts the folio, then
        // gives its block back, in C's order.
        unsafe {
            ManuallyDrop::drop(&mut self.folio);
            ManuallyDrop::drop(&mut self.acct);
        }
    }
}
