// SPDX-License-Identifier: GPL-2.0

//! The userfaultfd decisions of the page-fault path on PTE markers and
//! registered ranges (mm/memory.c).

use kernel::bindings;
use kernel::mm::pte::{Pte, PteMarker};
use kernel::mm::virt::{flags, vm_flags_t, VmaRef};

/// What the fault path does with a marker (C: `PTE_MARKER_FAULT_*`, the
/// decisions of `handle_pte_marker()`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub(crate) enum MarkerFaultAction {
    /// Not a marker this kernel knows: `SIGBUS`.
    Sigbus = bindings::PTE_MARKER_FAULT_SIGBUS,
    /// Poisoned: the data is gone (`VM_FAULT_HWPOISON`).
    Hwpoison = bindings::PTE_MARKER_FAULT_HWPOISON,
    /// A stale uffd-wp marker in a VMA no longer registered for
    /// write-protect: clear it, then fault as on a none PTE.
    Clear = bindings::PTE_MARKER_FAULT_CLEAR,
    /// A uffd-wp marker: a missing fault that keeps the bit.
    Missing = bindings::PTE_MARKER_FAULT_MISSING,
    /// A marker without bits: a bug, the caller warns.
    Empty = bindings::PTE_MARKER_FAULT_EMPTY,
}

/// C: the decisions of `handle_pte_marker()`: a fault on the marker PTE
/// `orig_pte` in `vma`.  Poison wins over uffd-wp (the data is gone).
pub(crate) fn pte_marker_fault_action(vma: &VmaRef, orig_pte: Pte) -> MarkerFaultAction {
    let Some(marker) = orig_pte.marker() else {
        return MarkerFaultAction::Sigbus;
    };
    if marker.is_empty() {
        return MarkerFaultAction::Empty;
    }
    if marker.contains(PteMarker::POISONED) {
        return MarkerFaultAction::Hwpoison;
    }
    if cfg!(CONFIG_PTE_MARKER_UFFD_WP) && marker.contains(PteMarker::UFFD_WP) {
        return if vma.uffd_modes().wp {
            MarkerFaultAction::Missing
        } else {
            MarkerFaultAction::Clear
        };
    }
    MarkerFaultAction::Sigbus
}

/// C: `vmf_orig_pte_uffd_wp()`: whether the page a fault maps must be
/// mapped write-protected because the PTE it replaces was a uffd-wp
/// marker (the fault saw it: `FAULT_FLAG_ORIG_PTE_VALID` in
/// `fault_flags`).
pub(crate) fn uffd_fault_orig_pte_uffd_wp(vma: &VmaRef, fault_flags: u32, orig_pte: Pte) -> bool {
    if !vma.uffd_modes().wp || fault_flags & bindings::fault_flag_FAULT_FLAG_ORIG_PTE_VALID == 0 {
        return false;
    }
    cfg!(CONFIG_PTE_MARKER_UFFD_WP)
        && orig_pte
            .marker()
            .is_some_and(|marker| marker.contains(PteMarker::UFFD_WP))
}

/// C: `uffd_disable_fault_around()`: no fault-around in ranges registered
/// for write-protect or minor faults.  It would map pages next to the
/// faulting one without a message: for minor faults that defeats the
/// registration, for write-protect it could map a page without its bit.
pub(crate) fn uffd_disable_fault_around(vma: &VmaRef) -> bool {
    let modes = vma.uffd_modes();
    modes.wp || modes.minor
}

/// C: the hand-off of a page-cache fault to user space in
/// `shmem_get_folio_gfp()` and `hugetlb_no_page()`: the reason
/// (`VM_UFFD_MINOR` or `VM_UFFD_MISSING`) to pass to `handle_userfault()`,
/// or 0 to go on in the kernel.  A fault that found its page in the page
/// cache (`in_cache`) is a minor fault, one that did not a missing fault;
/// each goes to user space only where `vma` is registered for it.  No
/// VMA (a read or write through the file, not a fault): 0.  The C callers
/// test the answer with `&`, never `==`: `VM_UFFD_MINOR` is 0 where the
/// architecture has no minor faults.
pub(crate) fn uffd_fault_reason(vma: Option<&VmaRef>, in_cache: bool) -> vm_flags_t {
    let Some(vma) = vma else {
        return 0;
    };
    let modes = vma.uffd_modes();
    if in_cache && modes.minor {
        flags::UFFD_MINOR
    } else if !in_cache && modes.missing {
        flags::UFFD_MISSING
    } else {
        0
    }
}
