// SPDX-License-Identifier: GPL-2.0

//! Folio references, for the pages the fill engine maps.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h).
//!
//! [`Folio`] owns one reference on a folio and drops it, unless the
//! page-table code, which takes it by value, hands the reference to the
//! page table that maps it.
//! [`LockedFolio`] is a page-cache folio found by lookup, locked and
//! referenced; dropping it unlocks it and drops the reference.

use super::virt::VmaRef;
use crate::{
    bindings,
    error::{code::*, to_result, Result},
};

// The flag of `uffd_rs_copy_folio_from_user()`: copy with page faults
// disabled.
const COPY_NOFAULT: bool = true;
use core::{marker::PhantomData, mem::ManuallyDrop, ptr::NonNull};

/// One reference on a folio.
///
/// # Invariants
///
/// `ptr` is a valid folio on which this value owns one reference.
pub struct Folio {
    ptr: NonNull<bindings::folio>,
}

// SAFETY: a folio reference may be dropped from any task; the folio's
// contents are only touched through the methods below, by the owner.
unsafe impl Send for Folio {}

impl Folio {
    /// A new anonymous folio of one page for `addr` of `vma`, zeroed if
    /// `zeroed` (C: `vma_alloc_folio()`, `vma_alloc_zeroed_movable_folio()`).
    /// `ENOMEM` when memory is short.
    #[inline]
    pub fn alloc_anon(vma: &VmaRef, addr: usize, zeroed: bool) -> Result<Self> {
        Self::alloc(vma, addr, zeroed, false)
    }

    /// As [`Folio::alloc_anon`] (not zeroed), for a page that a batched
    /// fill takes ahead of its turn, which C would not allocate yet:
    /// fails (`ENOMEM`) rather than reclaim hard or warn, and the page is
    /// then allocated again in its turn, as C allocates it.
    #[inline]
    pub fn alloc_anon_ahead(vma: &VmaRef, addr: usize) -> Result<Self> {
        Self::alloc(vma, addr, false, true)
    }

    #[inline]
    fn alloc(vma: &VmaRef, addr: usize, zeroed: bool, ahead: bool) -> Result<Self> {
        // SAFETY: the VMA is stable (its invariant); the allocator takes
        // the VMA only for its memory policy.
        let ptr = unsafe { bindings::uffd_rs_alloc_folio(vma.as_ptr(), addr as _, zeroed, ahead) };
        // INVARIANT: a new folio comes with one reference, ours.
        NonNull::new(ptr).map(|ptr| Self { ptr }).ok_or(ENOMEM)
    }

    /// Takes over a folio reference from C.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid folio on which the caller owns a reference
    /// that it gives to the new value.
    #[inline]
    pub unsafe fn from_raw(ptr: NonNull<bindings::folio>) -> Self {
        // INVARIANT: the caller's reference is now ours.
        Self { ptr }
    }

    /// The raw folio pointer, for the C functions that take it.
    #[inline]
    pub(super) fn as_ptr(&self) -> *mut bindings::folio {
        self.ptr.as_ptr()
    }

    /// C: `folio_test_hwpoison()`: the folio has a memory error.
    #[inline]
    pub fn test_hwpoison(&self) -> bool {
        // SAFETY: we hold a reference on the folio (type invariant).
        unsafe { bindings::folio_test_hwpoison(self.ptr.as_ptr()) }
    }

    /// Gives the reference to C (the inverse of [`Folio::from_raw`]).
    #[inline]
    pub fn into_raw(self) -> NonNull<bindings::folio> {
        ManuallyDrop::new(self).ptr
    }

    /// Copies one page from user address `src` into the folio, with page
    /// faults disabled (the caller holds mm locks, and a fault could
    /// deadlock on them).  `false` if any byte could not be copied: copy
    /// again with [`Folio::copy_from_user`] once the locks are dropped.
    #[inline]
    pub fn copy_from_user_nofault(&mut self, src: usize) -> bool {
        // SAFETY: we own a reference on the folio (type invariant) and
        // `&mut self` says nobody else writes it; a bad user address only
        // makes the copy come up short.
        unsafe {
            bindings::uffd_rs_copy_folio_from_user(self.ptr.as_ptr(), src as _, COPY_NOFAULT) == 0
        }
    }

    /// Copies the whole folio (one page, or a huge page for hugetlb) from
    /// user address `src`; may fault and sleep, so no mm lock may be
    /// held.  `EFAULT` if the source is not readable.
    #[inline]
    pub fn copy_from_user(&mut self, src: usize) -> Result {
        // SAFETY: as for `copy_from_user_nofault`.
        let left = unsafe {
            bindings::uffd_rs_copy_folio_from_user(self.ptr.as_ptr(), src as _, !COPY_NOFAULT)
        };
        if left == 0 {
            Ok(())
        } else {
            Err(EFAULT)
        }
    }

    /// Marks a new folio up to date (its contents are written) and charges
    /// it to the memory cgroup of `vma`'s mm; `ENOMEM` if the charge fails.
    #[inline]
    pub fn prepare_new(&mut self, vma: &VmaRef) -> Result {
        self.prepare(vma, false)
    }

    /// As [`Folio::prepare_new`], for a page that a batched fill takes
    /// ahead of its turn: a charge over the memory cgroup's limit fails
    /// (`ENOMEM`) after one round of reclaim, without the memcg OOM
    /// killer, and the page is charged again in its turn, as C charges it.
    #[inline]
    pub fn prepare_new_ahead(&mut self, vma: &VmaRef) -> Result {
        self.prepare(vma, true)
    }

    #[inline]
    fn prepare(&mut self, vma: &VmaRef, ahead: bool) -> Result {
        // SAFETY: the folio is ours and not mapped yet (we allocated it);
        // the VMA is stable.
        to_result(unsafe {
            bindings::uffd_rs_folio_prepare(vma.as_ptr(), self.ptr.as_ptr(), ahead)
        })
    }

    /// The folio's first page, to map: only for a new anonymous folio, one
    /// that is in no page cache (what [`Folio::alloc_anon`] gives).  Only
    /// the page-table code maps it, which takes the folio by value.
    #[inline]
    pub(super) fn page(&self) -> FolioPage<'_> {
        FolioPage {
            in_cache: false,
            // SAFETY: the folio is valid (type invariant); its first page
            // is the folio's own `page` field.
            page: unsafe {
                NonNull::new_unchecked(&raw mut (*self.ptr.as_ptr()).__bindgen_anon_1.page)
            },
            _folio: PhantomData,
        }
    }

    /// Hands the reference to the page table entry that now maps the
    /// folio: it is dropped when the entry is zapped.
    #[inline]
    pub(super) fn into_mapped(self) {
        let _ = ManuallyDrop::new(self);
    }
}

impl Drop for Folio {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we own one reference (type invariant), dropped once.
        unsafe { bindings::folio_put(self.ptr.as_ptr()) };
    }
}

/// A page-cache folio, locked and referenced, with the page of the address
/// it was looked up for.
///
/// # Invariants
///
/// `folio` is locked by the current task and holds the reference of the
/// lookup; `page` is a page of it.
pub struct LockedFolio {
    folio: ManuallyDrop<Folio>,
    page: NonNull<bindings::page>,
}

impl LockedFolio {
    /// Takes over a locked folio and the reference of its lookup.
    ///
    /// # Safety
    ///
    /// `folio` must be locked by the current task, with a reference the
    /// caller gives to the new value; `page` must be a page of it.
    #[inline]
    pub(super) unsafe fn from_raw(
        folio: NonNull<bindings::folio>,
        page: NonNull<bindings::page>,
    ) -> Self {
        // INVARIANT: the caller's promises.
        Self {
            // SAFETY: the caller's reference is now ours.
            folio: ManuallyDrop::new(unsafe { Folio::from_raw(folio) }),
            page,
        }
    }

    /// C: `PageHWPoison()` of the page: its memory is known to be bad.
    /// Always `false` without `CONFIG_MEMORY_FAILURE`, as in C.
    #[inline]
    pub fn page_hwpoison(&self) -> bool {
        #[cfg(CONFIG_MEMORY_FAILURE)]
        // SAFETY: the page belongs to a folio we hold (type invariant).
        return unsafe { bindings::PageHWPoison(self.page.as_ptr()) };
        #[cfg(not(CONFIG_MEMORY_FAILURE))]
        false
    }

    /// The folio.
    #[inline]
    pub fn folio(&self) -> &Folio {
        &self.folio
    }

    /// The page to map (by the page-table code, which takes the folio by
    /// value).
    #[inline]
    pub(super) fn page(&self) -> FolioPage<'_> {
        FolioPage {
            in_cache: true,
            page: self.page,
            _folio: PhantomData,
        }
    }

    /// Unlocks the folio and hands the reference to the page table entry
    /// that now maps it.
    #[inline]
    pub(super) fn unlock_mapped(self) {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: locked by us (type invariant), unlocked once.
        unsafe { bindings::folio_unlock(this.folio.ptr.as_ptr()) };
        // SAFETY: `this` is never used again; the reference goes to the
        // mapping.
        unsafe { ManuallyDrop::take(&mut this.folio) }.into_mapped();
    }
}

impl Drop for LockedFolio {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: locked by us (type invariant), unlocked once.
        unsafe { bindings::folio_unlock(self.folio.ptr.as_ptr()) };
        // SAFETY: dropped once, here; drops the lookup's reference.
        unsafe { ManuallyDrop::drop(&mut self.folio) };
    }
}

/// A page of a folio held by the borrow: what a PTE is made to map.
///
/// # Invariants
///
/// `page` is a page of a folio on which a reference is held for `'a`;
/// `in_cache` says whether that folio is in a page cache.
pub struct FolioPage<'a> {
    page: NonNull<bindings::page>,
    in_cache: bool,
    _folio: PhantomData<&'a Folio>,
}

impl FolioPage<'_> {
    /// Whether the folio is in a page cache, rather than a new anonymous
    /// folio (known from where it came from).
    #[inline]
    pub(super) fn in_page_cache(&self) -> bool {
        self.in_cache
    }

    /// The raw page pointer, for the C functions that map it.
    #[inline]
    pub(super) fn as_ptr(&self) -> *mut bindings::page {
        self.page.as_ptr()
    }
}
