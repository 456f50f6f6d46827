// SPDX-License-Identifier: GPL-2.0

//! The locks and entries of a hugetlb fill.
//!
//! C header: [`include/linux/hugetlb.h`](srctree/include/linux/hugetlb.h).
//!
//! A hugetlb page is filled under two more locks than a PTE: the fault
//! mutex of its page-cache index, which serializes the fill with faults on
//! the same page, and the hugetlb VMA lock, which keeps page tables shared
//! between processes (shared PMDs) in place.  [`HugetlbFillLock`] holds
//! both; the huge PTE it hands out ([`HugePte`]) borrows from it.  A fill
//! loop makes its [`HugetlbVmaRef`] once, which checks the VMA and learns
//! its page size, and locks page after page through it.

use super::{folio::Folio, pte::Pte, uffd::MfillMode, virt::VmaRef};
use crate::{
    bindings,
    error::{code::*, to_result, Result},
};
use core::ptr::NonNull;

/// A locked hugetlb VMA and the size of its pages.
///
/// # Invariants
///
/// `vma` is a hugetlb VMA, locked for `'a`, whose pages are `size` bytes
/// (C: `vma_kernel_pagesize()`).
#[derive(Clone, Copy)]
pub struct HugetlbVmaRef<'a> {
    vma: &'a VmaRef,
    size: usize,
}

impl<'a> HugetlbVmaRef<'a> {
    /// `vma` as a hugetlb VMA; `None` if it is not one.
    #[inline]
    pub fn new(vma: &'a VmaRef) -> Option<Self> {
        if !vma.is_hugetlb() {
            return None;
        }
        // INVARIANT: checked above; the page size of a VMA does not change
        // while it is locked.
        Some(Self {
            vma,
            size: vma.kernel_pagesize(),
        })
    }

    /// The size of the VMA's huge pages.
    #[inline]
    pub fn page_size(&self) -> usize {
        self.size
    }
}

/// The fault mutex and the hugetlb VMA lock for one huge page of a VMA.
///
/// # Invariants
///
/// The fault mutex of hash `hash` and the hugetlb VMA read lock of `vma`
/// are held while the value exists; `addr` is a huge-page-aligned address
/// of `vma`, a hugetlb VMA locked for `'a`; `ptep` is its huge PTE, or
/// null if it could not be allocated.
pub struct HugetlbFillLock<'a> {
    vma: &'a VmaRef,
    addr: usize,
    hash: u32,
    ptep: *mut bindings::pte_t,
}

impl<'a> HugetlbFillLock<'a> {
    /// Takes the locks for the huge page at `addr` of `vma`, and allocates
    /// the page-table levels down to its huge PTE.  `EINVAL` if `addr` is
    /// not an aligned address of `vma`.
    #[inline]
    pub fn lock(vma: HugetlbVmaRef<'a>, addr: usize) -> Result<Self> {
        let HugetlbVmaRef { vma, size } = vma;
        if addr < vma.start() || addr >= vma.end() || addr & (size - 1) != 0 {
            return Err(EINVAL);
        }
        let mut ptep = core::ptr::null_mut();
        // SAFETY: `vma` is a locked hugetlb VMA (so it has a file) with
        // pages of `size`, and `addr` one of them (`HugetlbVmaRef`
        // invariant and the check above); the function sleeps on a mutex
        // and an rwsem, which we may, and allocates with both held, as
        // `huge_pte_alloc()` requires.
        let hash = unsafe {
            bindings::uffd_rs_hugetlb_lock(vma.as_raw(), addr as _, size as _, &mut ptep)
        };
        // INVARIANT: both locks were just taken; `ptep` is the entry or
        // null.
        Ok(Self {
            vma,
            addr,
            hash,
            ptep,
        })
    }

    /// The huge PTE of the page (C: `huge_pte_alloc()`, done by
    /// [`Self::lock`]); `ENOMEM` if it could not be allocated.
    #[inline]
    pub fn huge_pte_alloc(&self) -> Result<HugePte<'_>> {
        let ptep = NonNull::new(self.ptep).ok_or(ENOMEM)?;
        // INVARIANT: the entry of `addr`, kept in place by the locks.
        Ok(HugePte { lock: self, ptep })
    }
}

impl Drop for HugetlbFillLock<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: both locks are held (type invariant), released once.
        unsafe { bindings::uffd_rs_hugetlb_unlock(self.vma.as_raw(), self.hash) };
    }
}

/// The huge PTE of a page whose [`HugetlbFillLock`] is held.
///
/// # Invariants
///
/// `ptep` is the huge PTE of `lock.addr`, kept in place by the lock.
pub struct HugePte<'a> {
    lock: &'a HugetlbFillLock<'a>,
    ptep: NonNull<bindings::pte_t>,
}

impl HugePte<'_> {
    /// The entry (C: `huge_ptep_get()`).
    #[inline]
    pub fn get(&self) -> Pte {
        // x86-64 has no huge_ptep_get() of its own: the generic one is
        // ptep_get().
        #[cfg(CONFIG_X86_64)]
        // SAFETY: the entry is in place (type invariant).
        return unsafe { super::pte::ptep_get(self.ptep.as_ptr()) };
        #[cfg(not(CONFIG_X86_64))]
        // SAFETY: the entry is in place (type invariant).
        Pte::from_raw(unsafe {
            bindings::uffd_rs_huge_ptep_get(
                self.lock.vma.as_raw(),
                self.lock.addr as _,
                self.ptep.as_ptr(),
            )
        })
    }

    /// hugetlb's fill of this page in `mode` (C: `hugetlb_mfill_atomic_pte()`,
    /// which takes the entry's own lock): COPY from `src`, CONTINUE of the
    /// page-cache page, or POISON; mapped write-protected if `wp`.  For COPY,
    /// `pending` is a huge page already filled outside the locks, which the
    /// call consumes; when the source cannot be read with the locks held, it
    /// fails with `ENOENT` and leaves the page in `pending` to be filled
    /// that way.
    #[inline]
    pub fn mfill_atomic_pte(
        &self,
        mode: MfillMode,
        src: usize,
        wp: bool,
        pending: &mut Option<Folio>,
    ) -> Result {
        let mode = match mode {
            MfillMode::Copy => bindings::mfill_atomic_mode_MFILL_ATOMIC_COPY,
            MfillMode::Continue => bindings::mfill_atomic_mode_MFILL_ATOMIC_CONTINUE,
            MfillMode::Poison => bindings::mfill_atomic_mode_MFILL_ATOMIC_POISON,
            // No huge zero page for hugetlb.
            MfillMode::Zeropage => return Err(EINVAL),
        };
        let mut folio = pending
            .take()
            .map_or(core::ptr::null_mut(), |folio| folio.into_raw().as_ptr());
        // SAFETY: both hugetlb locks are held and `ptep` is the entry of
        // `addr` (type invariants); `folio` is NULL or a reference we give
        // to the call, which consumes it or, with `-ENOENT`, gives one back
        // through the same pointer.
        let ret = unsafe {
            bindings::uffd_rs_hugetlb_mfill_atomic_pte(
                self.lock.vma.as_raw(),
                self.lock.addr as _,
                self.ptep.as_ptr(),
                src as _,
                mode as _,
                wp,
                &mut folio,
            )
        };
        if let Some(folio) = NonNull::new(folio) {
            // SAFETY: a reference the call gave back to us.
            *pending = Some(unsafe { Folio::from_raw(folio) });
        }
        to_result(ret)
    }
}
