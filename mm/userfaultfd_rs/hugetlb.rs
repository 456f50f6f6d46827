// SPDX-License-Identifier: GPL-2.0

//! The userfaultfd decisions of hugetlb's fault, zap, fork, mremap and
//! protection paths (mm/hugetlb.c).
//!
//! A hugetlb page is mapped by one huge PTE, which carries the uffd-wp
//! bit like a PTE: in its present form (`huge_pte_uffd_wp()`), in its
//! swap form on a migration entry (`pte_swp_uffd_wp()`), or as a uffd-wp
//! marker where nothing is mapped.  hugetlb walks and locks its entries
//! itself; here is what it asks of userfaultfd at each entry: which form
//! of the bit the new entry gets, whether a marker stays behind, whether a
//! fault goes to user space.  The entries are values: the caller holds the
//! huge PTE's lock, and sets what these functions return.

use crate::marker::pte_marker_uffd_wp;
use kernel::bindings;
use kernel::mm::pte::{Pte, PteMarker};
use kernel::mm::virt::VmaRef;

/// Whether `pte` carries the uffd-wp bit in any form: present, swap, or
/// a uffd-wp marker.
fn huge_pte_uffd_wp_any(pte: Pte) -> bool {
    if pte.is_present() {
        pte.huge_uffd_wp()
    } else {
        // C: `pte_swp_uffd_wp_any()`, never true without uffd-wp markers.
        cfg!(CONFIG_PTE_MARKER_UFFD_WP) && pte.swp_uffd_wp_any()
    }
}

/// `pte` with its uffd-wp bit, in the form its kind uses (present or
/// swap), set if `wp` and cleared if not.  None and marker entries have
/// no such bit and are returned as they are.
fn huge_pte_with_uffd_wp(pte: Pte, wp: bool) -> Pte {
    if pte.is_present() {
        if wp {
            pte.huge_mkuffd_wp()
        } else {
            pte.huge_clear_uffd_wp()
        }
    } else if pte.is_none() || pte.is_marker() {
        pte
    } else if wp {
        pte.swp_mkuffd_wp()
    } else {
        pte.swp_clear_uffd_wp()
    }
}

/// The entry `new` that replaces (or copies) `old`, with the uffd-wp bit
/// of `old` carried over: `new` gets the bit when `old` has it in any form
/// and `vma`, when given, is registered for write-protect; it loses the bit
/// otherwise.
///
/// The C sites it stands for: a new page mapped over a uffd-wp marker
/// stays protected (`hugetlb_no_page()`, no VMA check); a CoW copy keeps
/// the bit of the page it replaces (`hugetlb_wp()`, no VMA check); fork's
/// early copy of a pinned page and fork's copies of present and migration
/// entries keep it only where the VMA (the child's, or the parent's for
/// the parent's own entry) is registered for write-protect, so a child
/// without `UFFD_FEATURE_EVENT_FORK` gets no stale bits
/// (`hugetlb_install_folio()`, `copy_hugetlb_page_range()`).
pub(crate) fn huge_pte_carry_uffd_wp(vma: Option<&VmaRef>, old: Pte, new: Pte) -> Pte {
    let registered = vma.map_or(true, |vma| vma.uffd_modes().wp);
    huge_pte_with_uffd_wp(new, registered && huge_pte_uffd_wp_any(old))
}

/// The entry mremap puts at the new address for `pte`, taken from the old
/// one (C: `move_huge_pte()`).  A VMA registered with a context that did
/// not ask for `UFFD_FEATURE_EVENT_REMAP` loses its protection on the
/// move, since user space cannot learn the new address: the bit is
/// cleared and a uffd-wp marker becomes none.  Otherwise `pte` as it is.
pub(crate) fn hugetlb_move_pte(vma: &VmaRef, pte: Pte) -> Pte {
    if !vma.has_uffd_without_event_remap() {
        return pte;
    }
    if pte_marker_uffd_wp(pte) {
        return Pte::from_val(0);
    }
    huge_pte_with_uffd_wp(pte, false)
}

/// Whether the zap of `pte` leaves a uffd-wp marker in its place (C: the
/// two sites in `__unmap_hugepage_range()`): when the entry was
/// write-protected by userfaultfd in any form, unless the zap drops
/// markers (`ZAP_FLAG_DROP_MARKER` in `zap_flags`: munmap, and the
/// truncation that removes the page for good).
pub(crate) fn hugetlb_zap_leaves_marker(pte: Pte, zap_flags: bindings::zap_flags_t) -> bool {
    zap_flags & bindings::ZAP_FLAG_DROP_MARKER == 0 && huge_pte_uffd_wp_any(pte)
}

/// Whether hugetlb refuses to break CoW on `pte` (C: the start of
/// `hugetlb_wp()`): a write to a page write-protected by userfaultfd is
/// for user space to resolve first.  An unshare fault (`unshare`) is not
/// a write and proceeds.
pub(crate) fn hugetlb_refuses_cow(pte: Pte, unshare: bool) -> bool {
    !unshare && pte.is_present() && pte.huge_uffd_wp()
}

/// What a fault on a present huge PTE does about userfaultfd
/// write-protection (C: `UFFD_RS_WP_FAULT_*`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub(crate) enum WpFaultAction {
    /// Not a write to a page write-protected by userfaultfd: go on.
    None = bindings::UFFD_RS_WP_FAULT_NONE,
    /// Hand the fault to user space (a `UFFD_PAGEFAULT_FLAG_WP` message).
    Message = bindings::UFFD_RS_WP_FAULT_MESSAGE,
    /// `UFFD_FEATURE_WP_ASYNC`: clear the bit and go on to the write.
    Resolve = bindings::UFFD_RS_WP_FAULT_RESOLVE,
}

/// C: the uffd-wp step of `hugetlb_fault()`: a write fault
/// (`FAULT_FLAG_WRITE` in `fault_flags`) on `pte`, present, not writable
/// and write-protected by userfaultfd in a VMA registered for it.
pub(crate) fn hugetlb_wp_fault_action(vma: &VmaRef, fault_flags: u32, pte: Pte) -> WpFaultAction {
    let write = fault_flags & bindings::fault_flag_FAULT_FLAG_WRITE != 0;
    if !vma.uffd_modes().wp || !write || !pte.is_present() || !pte.huge_uffd_wp() {
        return WpFaultAction::None;
    }
    if pte.huge_write() {
        return WpFaultAction::None;
    }
    if vma.userfaultfd_wp_async() {
        WpFaultAction::Resolve
    } else {
        WpFaultAction::Message
    }
}

/// C: the uffd-wp part of `hugetlb_change_protection()` for one entry, in
/// `cp_flags` (`MM_CP_UFFD_WP` protects, `MM_CP_UFFD_WP_RESOLVE`
/// un-protects): the entry to set.
///
/// - A present or migration entry gets or loses the bit in its form.
/// - A uffd-wp marker goes away when un-protecting (nothing was mapped);
///   a poisoned marker stays as it is (the data is gone).
/// - A none entry becomes a uffd-wp marker when protecting, so that a
///   page mapped there later is protected too.
///
/// The caller leaves hwpoison entries alone before asking.
pub(crate) fn hugetlb_change_pte(pte: Pte, cp_flags: u64) -> Pte {
    let protect = cp_flags & u64::from(bindings::MM_CP_UFFD_WP) != 0;
    let resolve = cp_flags & u64::from(bindings::MM_CP_UFFD_WP_RESOLVE) != 0;
    if pte.is_none() {
        return if protect {
            Pte::new_marker(PteMarker::UFFD_WP)
        } else {
            pte
        };
    }
    if pte.is_marker() {
        return if resolve && pte_marker_uffd_wp(pte) {
            Pte::from_val(0)
        } else {
            pte
        };
    }
    if protect {
        huge_pte_with_uffd_wp(pte, true)
    } else if resolve {
        huge_pte_with_uffd_wp(pte, false)
    } else {
        pte
    }
}
