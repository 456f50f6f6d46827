// SPDX-License-Identifier: GPL-2.0

//! PTE markers: the marker API of `include/linux/swapops.h` and the marker
//! life cycle in the generic mm code.
//!
//! The API (make, test and read markers) is the encoding of
//! `kernel::mm::pte`, under the C names.  The life cycle: a
//! write-protected page must stay protected through the life of its PTE,
//! so
//! - zapping (punch hole, `MADV_DONTNEED`, truncation, reclaim, migration)
//!   replaces a protected PTE with a uffd-wp marker:
//!   [`zap_install_uffd_wp_markers`], [`pte_install_uffd_wp_if_needed`];
//! - fork copies a marker into the child only where it still means
//!   something: [`copy_pte_marker`].
//!
//! What a fault on a marker does is in [`crate::fault`].

use kernel::mm::pgtable::PteRun;
use kernel::mm::pte::{Pte, PteMarker, SwpEntry};
use kernel::mm::virt::{VmaRef, VmaRmapRef};

/// C: `make_pte_marker_entry()`.  Bits outside `PTE_MARKER_MASK` are
/// dropped (no caller passes any).
pub(crate) fn make_pte_marker_entry(bits: u64) -> SwpEntry {
    SwpEntry::new_marker(PteMarker::from_bits_truncate(bits))
}

/// C: `make_pte_marker()`.
pub(crate) fn make_pte_marker(bits: u64) -> Pte {
    Pte::new_marker(PteMarker::from_bits_truncate(bits))
}

/// C: `pte_marker_entry_uffd_wp()` (include/linux/userfaultfd_k.h): a
/// marker entry with the uffd-wp bit.
#[cfg(CONFIG_PTE_MARKER_UFFD_WP)]
pub(crate) fn pte_marker_entry_uffd_wp(entry: SwpEntry) -> bool {
    entry.is_pte_marker() && entry.pte_marker().contains(PteMarker::UFFD_WP)
}

/// C: `pte_marker_uffd_wp()` (include/linux/userfaultfd_k.h): a marker PTE
/// with the uffd-wp bit; never without `CONFIG_PTE_MARKER_UFFD_WP`, as in
/// C.
pub(crate) fn pte_marker_uffd_wp(pte: Pte) -> bool {
    cfg!(CONFIG_PTE_MARKER_UFFD_WP)
        && pte
            .marker()
            .is_some_and(|marker| marker.contains(PteMarker::UFFD_WP))
}

/// Whether a PTE that is being zapped in `vma` must leave a uffd-wp marker
/// behind: it was write-protected by userfaultfd (a present PTE with the
/// bit, a swap PTE with the bit, or a marker with it), in file memory of a
/// VMA still registered for write-protect.  Anonymous memory never keeps
/// markers on zap: zapping it drops the data.
fn zap_keeps_uffd_wp(vma: &VmaRmapRef, pteval: Pte) -> bool {
    if vma.is_anonymous() || !vma.uffd_modes().wp {
        return false;
    }
    if pteval.is_present() {
        pteval.uffd_wp()
    } else {
        pteval.swp_uffd_wp_any()
    }
}

/// C: `pte_install_uffd_wp_if_needed()`: after the PTE `run` (one slot)
/// was cleared, put a uffd-wp marker there if `pteval`, the PTE it held,
/// was protected.
pub(crate) fn pte_install_uffd_wp_if_needed(vma: &VmaRmapRef, run: PteRun<'_>, pteval: Pte) {
    zap_install_uffd_wp_markers(vma, run, pteval);
}

/// The zap side of `zap_install_uffd_wp_if_needed()` (mm/memory.c): the
/// PTEs of `run` were cleared; `pteval` is what the first held (for a
/// batch they share their uffd-wp state).  The caller does not call it
/// when it drops file markers on purpose (`ZAP_FLAG_DROP_MARKER`: the VMA
/// goes away or is un-registered), the common case of munmap.
pub(crate) fn zap_install_uffd_wp_markers(vma: &VmaRmapRef, mut run: PteRun<'_>, pteval: Pte) {
    if !cfg!(CONFIG_PTE_MARKER_UFFD_WP) || !zap_keeps_uffd_wp(vma, pteval) {
        return;
    }
    let marker = Pte::new_marker(PteMarker::UFFD_WP);
    for mut slot in run.slots() {
        // The PTEs were cleared by the caller; the slot refuses (and warns
        // once) if one was not, rather than overwrite what it maps.
        let _ = slot.set_non_present_over_none(marker);
    }
}

/// C: `copy_pte_marker()`: the marker fork puts in the child's VMA
/// `dst_vma` for the source marker `entry`.  Poison is always copied (the
/// data is lost in the child too); the uffd-wp bit only when the child's
/// VMA is registered for write-protect (with `UFFD_FEATURE_EVENT_FORK`;
/// otherwise fork un-registers the child and its markers would be stale).
/// An empty marker means no marker.
pub(crate) fn copy_pte_marker(entry: SwpEntry, dst_vma: &VmaRef) -> PteMarker {
    let src = entry.pte_marker();
    let mut dst = src & PteMarker::POISONED;
    if src.contains(PteMarker::UFFD_WP) && dst_vma.uffd_modes().wp {
        dst = dst | PteMarker::UFFD_WP;
    }
    dst
}
