// SPDX-License-Identifier: GPL-2.0

//! What the userfaultfd fill needs of shmem.
//!
//! C header: [`include/linux/shmem_fs.h`](srctree/include/linux/shmem_fs.h).
//!
//! A [`ShmemVma`] is known to be shmem once (its kind is in the type), so
//! a fill never asks C again page by page.

use super::{
    folio::{Folio, LockedFolio},
    pgtable::PmdRef,
    uffd::MfillFlags,
    virt::ShmemVma,
};
use crate::{
    bindings,
    error::{code::*, to_result, Result},
};
use core::ptr::NonNull;

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

    /// shmem's COPY or ZEROPAGE (as `flags` say) of the page at
    /// `pmd.addr()` of this shared VMA (C: `shmem_mfill_atomic_pte()`): the
    /// page goes into the page cache and is mapped.  For COPY, `pending` is
    /// a page already filled from `src` outside the locks, which the call
    /// consumes; when the source cannot be read with the locks held, the
    /// call fails with `ENOENT` and leaves the page in `pending` to be
    /// filled that way.  `EINVAL` for a private mapping (its holes get
    /// anonymous pages, not page-cache ones) and for a `pmd` of another
    /// VMA.
    #[inline]
    pub fn mfill_atomic_pte(
        &self,
        pmd: PmdRef<'_>,
        src: usize,
        flags: MfillFlags,
        pending: &mut Option<Folio>,
    ) -> Result {
        if !self.is_shared() || !pmd.is_of(self) {
            return Err(EINVAL);
        }
        let mut folio = pending
            .take()
            .map_or(core::ptr::null_mut(), |folio| folio.into_raw().as_ptr());
        // SAFETY: a locked shared shmem VMA whose PTE table at the address
        // exists (`PmdRef` invariant); `folio` is NULL or a reference we
        // give to the call, which either consumes it or, with `-ENOENT`,
        // hands a reference back through the same pointer.
        let ret = unsafe {
            bindings::shmem_mfill_atomic_pte(
                pmd.as_ptr(),
                self.as_ptr(),
                pmd.addr() as _,
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
