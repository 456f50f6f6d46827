// SPDX-License-Identifier: GPL-2.0

//! Every architecture but x86-64: the C helpers of `rust/helpers/`.

use super::super::pte::{Pte, SwpEntry};
use crate::bindings;

/// C: `pte_none()`.
#[inline]
pub(in crate::mm) fn pte_none(pte: Pte) -> bool {
    pte.c_is_none()
}

/// C: `pte_present()`.
#[inline]
pub(in crate::mm) fn pte_present(pte: Pte) -> bool {
    pte.c_is_present()
}

/// C: `pte_to_swp_entry()`.
#[inline]
pub(in crate::mm) fn pte_to_swp_entry(pte: Pte) -> SwpEntry {
    pte.c_to_swp_entry()
}

/// C: `swp_entry_to_pte()`.
#[inline]
pub(in crate::mm) fn swp_entry_to_pte(entry: SwpEntry) -> Pte {
    Pte::c_from_swp_entry(entry)
}

/// C: `pte_uffd_wp()`.
#[inline]
pub(in crate::mm) fn pte_uffd_wp(pte: Pte) -> bool {
    pte.c_uffd_wp()
}

/// C: `pte_swp_uffd_wp()`.
#[inline]
pub(in crate::mm) fn pte_swp_uffd_wp(pte: Pte) -> bool {
    pte.c_swp_uffd_wp()
}

/// C: `huge_pte_none()`.
#[cfg(CONFIG_HUGETLB_PAGE)]
#[inline]
pub(in crate::mm) fn huge_pte_none(pte: Pte) -> bool {
    pte.c_is_huge_none()
}

/// C: `ptep_get()`.
///
/// # Safety
///
/// `ptep` must point at a mapped PTE that stays mapped for the call.
#[inline]
pub(in crate::mm) unsafe fn ptep_get(ptep: *mut bindings::pte_t) -> Pte {
    // SAFETY: the caller keeps the PTE mapped.
    Pte::from_raw(unsafe { bindings::ptep_get(ptep) })
}

/// C: `huge_ptep_get()`.
///
/// # Safety
///
/// `ptep` must point at the huge PTE of `addr` in `mm`, kept in place for
/// the call.
#[cfg(CONFIG_HUGETLB_PAGE)]
#[inline]
pub(in crate::mm) unsafe fn huge_ptep_get(
    mm: *mut bindings::mm_struct,
    addr: usize,
    ptep: *mut bindings::pte_t,
) -> Pte {
    // SAFETY: the caller's promise.
    Pte::from_raw(unsafe { bindings::huge_ptep_get(mm, addr as _, ptep) })
}

/// C: `i_size_read()`.
///
/// # Safety
///
/// `inode` must point at an inode that stays allocated for the call.
#[inline]
pub(in crate::mm) unsafe fn i_size_read(inode: *const bindings::inode) -> i64 {
    // SAFETY: the caller keeps the inode allocated.
    unsafe { bindings::i_size_read(inode) }
}
