// SPDX-License-Identifier: GPL-2.0

//! Page table entries, swap entries and PTE markers as values.
//!
//! C header: [`include/linux/swapops.h`](srctree/include/linux/swapops.h).
//!
//! [`Pte`] and [`SwpEntry`] are copies of a page table entry or swap entry:
//! holding one says nothing about the page table it came from, so every
//! method here is safe.  The arch-specific tests and conversions go through
//! the architecture seam (inline on x86-64, C helpers elsewhere); the
//! marker encoding itself is [`super::swp_layout`], with this kernel's
//! constants in [`SWP_LAYOUT`].
//!
//! The `c_*` methods ask the C helpers for the same answers.  They are the
//! reference of the KUnit doctests below, which run at boot with
//! `CONFIG_RUST_KERNEL_DOCTESTS` and check every marker value, every other
//! swap type and a sample of none and present PTEs against the kernel's
//! own layout: host tests cannot catch a disagreement with the real
//! headers, these can.

use super::{arch, swp_layout::SwpLayout};
use crate::bindings;

pub use super::swp_layout::PteMarker;

/// This kernel's swap-entry layout: `SWP_TYPE_SHIFT` and `SWP_PTE_MARKER`
/// from the C headers.
pub const SWP_LAYOUT: SwpLayout =
    match SwpLayout::new(bindings::SWP_TYPE_SHIFT, bindings::SWP_PTE_MARKER as u64) {
        Some(layout) => layout,
        None => panic!("SWP_TYPE_SHIFT / SWP_PTE_MARKER do not describe a usable layout"),
    };

// The marker bits are defined in C too (`PTE_MARKER_*`, used by C callers):
// the two definitions must agree, which the build checks here.
const _: () = {
    assert!(bindings::PTE_MARKER_UFFD_WP as u64 == PteMarker::UFFD_WP.bits());
    assert!(bindings::PTE_MARKER_POISONED as u64 == PteMarker::POISONED.bits());
    assert!(bindings::PTE_MARKER_MASK as u64 == PteMarker::MASK);
    // `swp_entry_t` and `pte_t` are one `unsigned long` on 64-bit kernels.
    assert!(core::mem::size_of::<bindings::swp_entry_t>() == 8);
    assert!(core::mem::size_of::<bindings::pte_t>() == 8);
};

/// A swap entry (C: `swp_entry_t`), as a value.
///
/// Has the layout of `swp_entry_t`, so it can be passed to and from C.
///
/// # Examples
///
/// Every marker value is the swap entry C's `swp_entry(SWP_PTE_MARKER,
/// bits)` builds, and reads back as itself through the PTE:
///
/// ```
/// use kernel::mm::pte::{Pte, PteMarker, SwpEntry, SWP_LAYOUT};
///
/// for bits in 0..=PteMarker::MASK {
///     let marker = PteMarker::from_bits_truncate(bits);
///     let entry = SwpEntry::new_marker(marker);
///     let c_entry = SwpEntry::from_c_swp_entry(SWP_LAYOUT.marker_type(), bits);
///     let pte = Pte::new_marker(marker);
///     if entry != c_entry || pte.val() != Pte::c_from_swp_entry(c_entry).val() {
///         pr_err!("marker {:#x}: Rust {:#x}, C {:#x}\n", bits, entry.val(), c_entry.val());
///     }
///     assert!(entry == c_entry);
///     assert!(entry.is_pte_marker() && entry.pte_marker() == marker);
///     assert!(pte.val() == Pte::c_from_swp_entry(c_entry).val());
///     assert!(pte.is_marker() && pte.marker() == Some(marker));
///     assert!(pte.agrees_with_c());
/// }
/// ```
///
/// No other swap type is a marker, whatever its offset and the flag bits a
/// swap PTE may carry (swap soft-dirty, uffd-wp, exclusive on x86-64):
///
/// ```
/// use kernel::mm::pte::{Pte, PteMarker, SwpEntry, SWP_LAYOUT};
///
/// for swp_type in 0..SWP_LAYOUT.marker_type() {
///     for offset in [0, 1, PteMarker::MASK, 0x12345, (1u64 << 50) - 1] {
///         let entry = SwpEntry::from_c_swp_entry(swp_type, offset);
///         let pte = Pte::c_from_swp_entry(entry);
///         for flags in [0u64, 1 << 1, 1 << 2, 1 << 7] {
///             let pte = Pte::from_val(pte.val() | flags);
///             if pte.is_marker() || !pte.agrees_with_c() {
///                 pr_err!("swap type {} offset {:#x} flags {:#x}\n", swp_type, offset, flags);
///             }
///             assert!(!entry.is_pte_marker());
///             assert!(!pte.is_marker());
///             assert!(pte.agrees_with_c());
///         }
///     }
/// }
/// ```
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct SwpEntry(bindings::swp_entry_t);

impl SwpEntry {
    /// The entry C passed as a `swp_entry_t`.
    #[inline]
    pub const fn from_raw(entry: bindings::swp_entry_t) -> Self {
        Self(entry)
    }

    /// The entry as a `swp_entry_t`, to hand to C.
    #[inline]
    pub const fn into_raw(self) -> bindings::swp_entry_t {
        self.0
    }

    /// The entry whose raw value is `val`.
    #[inline]
    pub const fn from_val(val: u64) -> Self {
        Self(bindings::swp_entry_t { val: val as _ })
    }

    /// The raw value (C: `entry.val`).
    #[inline]
    pub const fn val(self) -> u64 {
        self.0.val as u64
    }

    /// C: `make_pte_marker_entry()`.
    #[inline]
    pub const fn new_marker(marker: PteMarker) -> Self {
        Self::from_val(SWP_LAYOUT.make_pte_marker_entry(marker))
    }

    /// C: `make_poisoned_swp_entry()`.
    #[inline]
    pub const fn new_poisoned() -> Self {
        Self::from_val(SWP_LAYOUT.make_poisoned_swp_entry())
    }

    /// C: `is_pte_marker_entry()`.
    #[inline]
    pub const fn is_pte_marker(self) -> bool {
        SWP_LAYOUT.is_pte_marker_entry(self.val())
    }

    /// C: `pte_marker_get()`: the marker bits (meaningful only when
    /// [`Self::is_pte_marker`]).
    #[inline]
    pub const fn pte_marker(self) -> PteMarker {
        SWP_LAYOUT.pte_marker_get(self.val())
    }

    /// C: `is_poisoned_swp_entry()`.
    #[inline]
    pub const fn is_poisoned(self) -> bool {
        SWP_LAYOUT.is_poisoned_swp_entry(self.val())
    }

    /// The entry C's `swp_entry(type, offset)` builds: the reference the
    /// KUnit doctests compare [`SWP_LAYOUT`] against.
    pub fn from_c_swp_entry(swp_type: u64, offset: u64) -> Self {
        // SAFETY: `swp_entry()` only computes a value from its arguments.
        Self(unsafe { bindings::swp_entry(swp_type as _, offset as _) })
    }
}

impl PartialEq for SwpEntry {
    fn eq(&self, other: &Self) -> bool {
        self.val() == other.val()
    }
}

impl Eq for SwpEntry {}

/// A page table entry (C: `pte_t`), as a value.
///
/// Has the layout of `pte_t`, so it can be passed to and from C.
///
/// # Examples
///
/// None PTEs (with the bits `pte_none()` ignores) and present PTEs are
/// read as C reads them, and are not markers:
///
/// ```
/// use kernel::mm::pte::Pte;
///
/// for val in [
///     0u64,
///     1 << 5,
///     1 << 6,
///     (1 << 5) | (1 << 6),
///     1,
///     1 << 8,
///     0x8000_0000_0123_4067,
///     0x0000_0000_7654_3025,
///     0x0000_0000_0123_4467,
///     0xf800_0000_0000_0001,
/// ] {
///     let pte = Pte::from_val(val);
///     if !pte.agrees_with_c() {
///         pr_err!("PTE {:#x} read differently by Rust and C\n", val);
///     }
///     assert!(pte.agrees_with_c());
///     assert!(!pte.is_marker());
/// }
/// ```
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct Pte(bindings::pte_t);

impl Pte {
    /// The raw value (C: `pte_val()`).
    #[inline]
    pub const fn val(self) -> u64 {
        self.0.pte as u64
    }

    /// The PTE read from C as a `pte_t`.
    #[inline]
    pub const fn from_raw(pte: bindings::pte_t) -> Self {
        Self(pte)
    }

    /// The PTE with raw value `val` (C: `__pte()`).
    #[inline]
    pub const fn from_val(val: u64) -> Self {
        Self(bindings::pte_t { pte: val as _ })
    }

    /// The PTE as a `pte_t`, to hand to C.
    #[inline]
    pub const fn into_raw(self) -> bindings::pte_t {
        self.0
    }

    /// C: `pte_uffd_wp()`: a present PTE write-protected by userfaultfd.
    /// Meaningless for a non-present PTE.  On x86-64 the software bit
    /// `_PAGE_UFFD_WP` (the KUnit doctests compare with C).
    #[inline]
    pub fn uffd_wp(self) -> bool {
        arch::pte_uffd_wp(self)
    }

    /// `pte_uffd_wp()` computed by C (the doctests' reference).
    #[inline]
    pub fn c_uffd_wp(self) -> bool {
        // SAFETY: a pure function of the value.
        unsafe { bindings::pte_uffd_wp(self.0) }
    }

    /// C: `pte_swp_uffd_wp()`: a swap PTE with the uffd-wp swap bit
    /// (`_PAGE_SWP_UFFD_WP`, which is `_PAGE_USER` on x86-64).
    #[inline]
    pub fn swp_uffd_wp(self) -> bool {
        arch::pte_swp_uffd_wp(self)
    }

    /// `pte_swp_uffd_wp()` computed by C (the doctests' reference).
    #[inline]
    pub fn c_swp_uffd_wp(self) -> bool {
        // SAFETY: a pure function of the value.
        unsafe { bindings::pte_swp_uffd_wp(self.0) }
    }

    /// C: `pte_swp_uffd_wp_any()`: a non-present PTE that carries the
    /// uffd-wp bit, either as a swap PTE with the bit or as a marker.
    #[inline]
    pub fn swp_uffd_wp_any(self) -> bool {
        if !self.is_swap() {
            return false;
        }
        if self.swp_uffd_wp() {
            return true;
        }
        self.marker()
            .is_some_and(|marker| marker.contains(PteMarker::UFFD_WP))
    }

    /// C: `pte_none()`.
    #[inline]
    pub fn is_none(self) -> bool {
        arch::pte_none(self)
    }

    /// C: `pte_present()`.
    #[inline]
    pub fn is_present(self) -> bool {
        arch::pte_present(self)
    }

    /// C: `is_swap_pte()`: neither none nor present, so it holds a swap
    /// entry (a real one, a migration entry, a marker, ...).
    #[inline]
    pub fn is_swap(self) -> bool {
        !self.is_none() && !self.is_present()
    }

    /// C: `pte_to_swp_entry()`.  Meaningful only when [`Self::is_swap`].
    #[inline]
    pub fn to_swp_entry(self) -> SwpEntry {
        arch::pte_to_swp_entry(self)
    }

    /// C: `swp_entry_to_pte()`.
    #[inline]
    pub fn from_swp_entry(entry: SwpEntry) -> Self {
        arch::swp_entry_to_pte(entry)
    }

    /// C: `make_pte_marker()`.
    #[inline]
    pub fn new_marker(marker: PteMarker) -> Self {
        Self::from_swp_entry(SwpEntry::new_marker(marker))
    }

    /// C: `is_pte_marker()`.
    #[inline]
    pub fn is_marker(self) -> bool {
        self.is_swap() && self.to_swp_entry().is_pte_marker()
    }

    /// `pte_none()` computed by the C helper: the reference for the
    /// KUnit doctests.
    pub fn c_is_none(self) -> bool {
        // SAFETY: `pte_none()` only tests the bits of a PTE value.
        unsafe { bindings::pte_none(self.0) != 0 }
    }

    /// `pte_present()` computed by the C helper (the doctests' reference).
    pub fn c_is_present(self) -> bool {
        // SAFETY: `pte_present()` only tests the bits of a PTE value.
        unsafe { bindings::pte_present(self.0) != 0 }
    }

    /// `pte_to_swp_entry()` computed by the C helper (the doctests' reference).
    pub fn c_to_swp_entry(self) -> SwpEntry {
        // SAFETY: `pte_to_swp_entry()` only rearranges the bits of a value.
        SwpEntry(unsafe { bindings::pte_to_swp_entry(self.0) })
    }

    /// `swp_entry_to_pte()` computed by the C helper (the doctests' reference).
    pub fn c_from_swp_entry(entry: SwpEntry) -> Self {
        // SAFETY: `swp_entry_to_pte()` only rearranges the bits of a value.
        Self(unsafe { bindings::swp_entry_to_pte(entry.0) })
    }

    /// Whether every test of this PTE gives what the C helpers give: none,
    /// present, swap, marker, none-mostly, huge none, the uffd-wp bits,
    /// and, for a swap PTE, its entry and the PTE made back from it.
    pub fn agrees_with_c(self) -> bool {
        let none = self.c_is_none();
        let present = self.c_is_present();
        let swap = !none && !present;
        let entry = self.c_to_swp_entry();
        let c_marker = swap && entry.is_pte_marker();
        let mut ok = self.is_none() == none
            && self.is_present() == present
            && self.is_swap() == swap
            && self.is_marker() == c_marker
            && self.is_none_mostly() == (none || c_marker)
            && self.uffd_wp() == self.c_uffd_wp();
        #[cfg(CONFIG_HUGETLB_PAGE)]
        {
            ok &= self.is_huge_none() == self.c_is_huge_none();
        }
        if swap {
            ok &= self.swp_uffd_wp() == self.c_swp_uffd_wp()
                && self.to_swp_entry() == entry
                && self.marker() == c_marker.then(|| entry.pte_marker())
                && Self::from_swp_entry(entry).val() == Self::c_from_swp_entry(entry).val();
        }
        ok
    }

    /// The marker bits if this PTE is a marker.
    #[inline]
    pub fn marker(self) -> Option<PteMarker> {
        if !self.is_swap() {
            return None;
        }
        let entry = self.to_swp_entry();
        if entry.is_pte_marker() {
            Some(entry.pte_marker())
        } else {
            None
        }
    }

    /// C: `pte_none_mostly()`: none, or a marker (which stands in for none
    /// while keeping some information).
    #[inline]
    pub fn is_none_mostly(self) -> bool {
        self.is_none() || self.is_marker()
    }

    /// C: `huge_pte_none()`.  x86-64 has no `huge_pte_none()` of its own:
    /// it is `pte_none()` there.
    #[cfg(CONFIG_HUGETLB_PAGE)]
    #[inline]
    pub fn is_huge_none(self) -> bool {
        arch::huge_pte_none(self)
    }

    /// `huge_pte_none()` computed by the C helper (the doctests' reference).
    #[cfg(CONFIG_HUGETLB_PAGE)]
    pub fn c_is_huge_none(self) -> bool {
        // SAFETY: `huge_pte_none()` only tests the bits of a PTE value.
        unsafe { bindings::huge_pte_none(self.0) != 0 }
    }

    /// C: `huge_pte_none_mostly()`.
    #[cfg(CONFIG_HUGETLB_PAGE)]
    #[inline]
    pub fn is_huge_none_mostly(self) -> bool {
        self.is_huge_none() || self.is_marker()
    }

    /// C: `huge_pte_write()`: a present huge PTE that allows writes.
    #[cfg(CONFIG_HUGETLB_PAGE)]
    #[inline]
    pub fn huge_write(self) -> bool {
        // SAFETY: a pure function of the value.
        unsafe { bindings::huge_pte_write(self.0) }
    }

    /// C: `huge_pte_uffd_wp()`: a present huge PTE write-protected by
    /// userfaultfd.
    #[cfg(CONFIG_HUGETLB_PAGE)]
    #[inline]
    pub fn huge_uffd_wp(self) -> bool {
        // SAFETY: a pure function of the value.
        unsafe { bindings::huge_pte_uffd_wp(self.0) != 0 }
    }

    /// C: `huge_pte_mkuffd_wp()`: this present huge PTE with the uffd-wp
    /// bit set (and, as C does, without write permission).
    #[cfg(CONFIG_HUGETLB_PAGE)]
    #[inline]
    pub fn huge_mkuffd_wp(self) -> Self {
        // SAFETY: a pure function of the value.
        Self(unsafe { bindings::huge_pte_mkuffd_wp(self.0) })
    }

    /// C: `huge_pte_clear_uffd_wp()`: this present huge PTE without the
    /// uffd-wp bit.
    #[cfg(CONFIG_HUGETLB_PAGE)]
    #[inline]
    pub fn huge_clear_uffd_wp(self) -> Self {
        // SAFETY: a pure function of the value.
        Self(unsafe { bindings::huge_pte_clear_uffd_wp(self.0) })
    }

    /// C: `pte_swp_mkuffd_wp()`: this swap PTE with the uffd-wp swap bit.
    #[inline]
    pub fn swp_mkuffd_wp(self) -> Self {
        // SAFETY: a pure function of the value.
        Self(unsafe { bindings::pte_swp_mkuffd_wp(self.0) })
    }

    /// C: `pte_swp_clear_uffd_wp()`: this swap PTE without the uffd-wp
    /// swap bit.
    #[inline]
    pub fn swp_clear_uffd_wp(self) -> Self {
        // SAFETY: a pure function of the value.
        Self(unsafe { bindings::pte_swp_clear_uffd_wp(self.0) })
    }
}
