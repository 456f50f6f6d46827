// SPDX-License-Identifier: GPL-2.0

//! x86-64: the PTE tests as inline bit operations, from the layout in
//! `arch/x86/include/asm/pgtable_64.h` and `pgtable_types.h`.

use super::super::{
    pte::{Pte, SwpEntry, SWP_LAYOUT},
    swp_layout::InvertedSwpPte,
};
use crate::bindings;

/// x86-64's swap-PTE layout, from its headers.
const SWP_PTE: InvertedSwpPte = match InvertedSwpPte::new(
    bindings::SWP_TYPE_BITS,
    bindings::SWP_OFFSET_FIRST_BIT,
    (1 << bindings::_PAGE_BIT_PRESENT) | (1 << bindings::_PAGE_BIT_PROTNONE),
    // The bits pte_none() ignores.
    bindings::_PAGE_KNL_ERRATUM_MASK as u64,
) {
    Some(layout) => layout,
    None => panic!("the x86-64 swap PTE constants do not describe a usable layout"),
};

/// C: `pte_none()`.
#[inline]
pub(in crate::mm) fn pte_none(pte: Pte) -> bool {
    SWP_PTE.pte_none(pte.val())
}

/// C: `pte_present()`.
#[inline]
pub(in crate::mm) fn pte_present(pte: Pte) -> bool {
    SWP_PTE.pte_present(pte.val())
}

/// C: `__pte_to_swp_entry()` of `pte_to_swp_entry()`.
#[inline]
pub(in crate::mm) fn pte_to_swp_entry(pte: Pte) -> SwpEntry {
    SwpEntry::from_val(SWP_PTE.pte_to_swp_entry(&SWP_LAYOUT, pte.val()))
}

/// C: `swp_entry_to_pte()`.
#[inline]
pub(in crate::mm) fn swp_entry_to_pte(entry: SwpEntry) -> Pte {
    Pte::from_val(SWP_PTE.swp_entry_to_pte(&SWP_LAYOUT, entry.val()))
}

/// C: `pte_uffd_wp()`: the software bit `_PAGE_UFFD_WP` (0, so never,
/// without `CONFIG_HAVE_ARCH_USERFAULTFD_WP`).
#[inline]
pub(in crate::mm) fn pte_uffd_wp(pte: Pte) -> bool {
    pte.val() & bindings::_PAGE_UFFD_WP as u64 != 0
}

/// C: `pte_swp_uffd_wp()`: `_PAGE_SWP_UFFD_WP`, which is `_PAGE_USER`
/// (0 without `CONFIG_HAVE_ARCH_USERFAULTFD_WP`).
#[inline]
pub(in crate::mm) fn pte_swp_uffd_wp(pte: Pte) -> bool {
    pte.val() & bindings::_PAGE_SWP_UFFD_WP as u64 != 0
}

/// C: `huge_pte_none()`: x86-64 has none of its own, so `pte_none()`.
#[cfg(CONFIG_HUGETLB_PAGE)]
#[inline]
pub(in crate::mm) fn huge_pte_none(pte: Pte) -> bool {
    pte_none(pte)
}

/// C: `ptep_get()`, which is `READ_ONCE()` here: a volatile load.
///
/// # Safety
///
/// `ptep` must point at a mapped PTE that stays mapped for the call.
#[inline]
pub(in crate::mm) unsafe fn ptep_get(ptep: *mut bindings::pte_t) -> Pte {
    // SAFETY: the caller keeps the PTE mapped; an aligned word load.
    Pte::from_raw(unsafe { core::ptr::read_volatile(ptep) })
}

/// C: `huge_ptep_get()`: x86-64 has none of its own, so `ptep_get()`.
///
/// # Safety
///
/// `ptep` must point at the huge PTE of `addr` in `mm`, kept in place for
/// the call.
#[cfg(CONFIG_HUGETLB_PAGE)]
#[inline]
pub(in crate::mm) unsafe fn huge_ptep_get(
    _mm: *mut bindings::mm_struct,
    _addr: usize,
    ptep: *mut bindings::pte_t,
) -> Pte {
    // SAFETY: the caller's promise.
    unsafe { ptep_get(ptep) }
}

/// C: `i_size_read()` on 64-bit: `smp_load_acquire()` of `i_size`, which
/// on x86-64 is a load that later accesses may not pass.
///
/// # Safety
///
/// `inode` must point at an inode that stays allocated for the call.
#[inline]
pub(in crate::mm) unsafe fn i_size_read(inode: *const bindings::inode) -> i64 {
    // SAFETY: the caller keeps the inode allocated; an aligned word load.
    let size = unsafe { core::ptr::read_volatile(&raw const (*inode).i_size) };
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::Acquire);
    size
}
