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

use super::{arch, folio::Folio, pte::Pte, uffd::MfillFlags, virt::VmaRef};
use crate::{
    bindings,
    error::{code::*, to_result, Result},
};
use core::{ops::Deref, ptr::NonNull};

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
    /// `vma_kernel_pagesize()`).
    #[inline]
    pub fn page_size(&self) -> usize {
        self.kernel_pagesize()
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

    /// hugetlb's fill of this page as `flags` say (C:
    /// `hugetlb_mfill_atomic_pte()`, which takes the entry's own lock):
    /// COPY from `src`, CONTINUE of the page-cache page, or POISON.  For
    /// COPY, `pending` is a huge page already filled outside the locks,
    /// which the call consumes; when the source cannot be read with the
    /// locks held, it fails with `ENOENT` and leaves the page in `pending`
    /// to be filled that way.  Other errors as hugetlb gives them.
    #[inline]
    pub fn mfill_atomic_pte(
        &self,
        src: usize,
        flags: MfillFlags,
        pending: &mut Option<Folio>,
    ) -> Result {
        let mut folio = pending
            .take()
            .map_or(core::ptr::null_mut(), |folio| folio.into_raw().as_ptr());
        // SAFETY: both hugetlb locks are held and `ptep` is the entry of
        // `addr` (type invariant); `folio` is NULL or a reference we give
        // to the call, which consumes it or, with `-ENOENT`, gives one back
        // through the same pointer.
        let ret = unsafe {
            bindings::hugetlb_mfill_atomic_pte(
                self.ptep.as_ptr(),
                self.vma.as_ptr(),
                self.addr as _,
                src as _,
                flags.bits(),
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

impl Drop for HugetlbFillLock<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: both locks are held (type invariant), released once.
        unsafe { bindings::uffd_rs_hugetlb_unlock(self.vma.as_ptr(), self.hash) };
    }
}
