// SPDX-License-Identifier: GPL-2.0

//! A PTE table mapped and locked.
//!
//! C header: [`include/linux/mm.h`](srctree/include/linux/mm.h)
//! (`pte_offset_map_lock()`, `pte_unmap_unlock()`).

use super::{pte::Pte, virt::VmaRef};
use crate::{
    bindings,
    error::{code::*, Error, Result},
};
use core::marker::PhantomData;

/// The PTE of one address, with its page table mapped and its lock held.
///
/// Holding the guard is holding the page-table lock: the PTE cannot change
/// under us, except for the hardware's accessed and dirty bits.
///
/// # Invariants
///
/// `ptep` is the PTE of `addr` in a page table mapped by
/// `pte_offset_map_lock()`, whose lock `ptl` is held until the guard is
/// dropped.  The VMA the table belongs to is locked for `'a`.
pub struct PteTableGuard<'a> {
    ptep: *mut bindings::pte_t,
    ptl: *mut bindings::spinlock_t,
    addr: usize,
    _vma: PhantomData<&'a VmaRef>,
}

impl<'a> PteTableGuard<'a> {
    /// Maps and locks the page table that holds the PTE of `addr` in `vma`.
    ///
    /// Returns `Ok(None)` when there is no PTE table there (nothing mapped
    /// yet at that level, or a huge PMD), `EINVAL` when `addr` is outside
    /// the VMA, and `EOPNOTSUPP` for hugetlb VMAs, whose entries live at
    /// other levels and have their own lock.
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
        // `vm_mm` never changes.
        let mm = unsafe { (*vma.as_raw()).vm_mm };
        // SAFETY: as above; the walk only reads the upper levels.
        let pmd = unsafe { bindings::uffd_find_pmd(mm, addr as _) };
        if pmd.is_null() {
            return Ok(None);
        }
        let mut ptl: *mut bindings::spinlock_t = core::ptr::null_mut();
        // SAFETY: `pmd` is the PMD of `addr` in a page table kept alive by
        // the VMA lock; `pte_offset_map_lock()` checks that it points at a
        // PTE table and, if so, maps it and takes its lock.
        let ptep = unsafe { bindings::pte_offset_map_lock(mm, pmd, addr as _, &mut ptl) };
        if ptep.is_null() {
            return Ok(None);
        }
        // INVARIANT: `ptep` is mapped and `ptl` is held.
        Ok(Some(Self {
            ptep,
            ptl,
            addr,
            _vma: PhantomData,
        }))
    }

    /// The address whose PTE this is.
    pub fn addr(&self) -> usize {
        self.addr
    }

    /// The PTE (C: `ptep_get()`).
    pub fn get(&self) -> Pte {
        // SAFETY: `ptep` is mapped while the guard lives (type invariant).
        Pte::from_raw(unsafe { bindings::ptep_get(self.ptep) })
    }
}

impl Drop for PteTableGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: the table is mapped and `ptl` held (type invariant); both
        // are released exactly once, here.
        unsafe { bindings::pte_unmap_unlock(self.ptep, self.ptl) };
    }
}
