// SPDX-License-Identifier: GPL-2.0

//! Page table entries, swap entries and PTE markers as values.
//!
//! C header: [`include/linux/swapops.h`](srctree/include/linux/swapops.h).
//!
//! [`Pte`] and [`SwpEntry`] are copies of a page table entry or swap entry:
//! holding one says nothing about the page table it came from, so every
//! method here is safe.  The arch-specific conversions between a PTE and a
//! swap entry go through the C helpers in `rust/helpers/uffd_mm.c`; the
//! marker encoding itself is [`super::swp_layout`], with this kernel's
//! constants in [`SWP_LAYOUT`].

#[cfg(CONFIG_X86_64)]
use super::swp_layout::InvertedSwpPte;
use super::swp_layout::SwpLayout;
use crate::bindings;

pub use super::swp_layout::PteMarker;

/// This kernel's swap-entry layout: `SWP_TYPE_SHIFT` and `SWP_PTE_MARKER`
/// from the C headers.
pub const SWP_LAYOUT: SwpLayout =
    match SwpLayout::new(bindings::SWP_TYPE_SHIFT, bindings::SWP_PTE_MARKER as u64) {
        Some(layout) => layout,
        None => panic!("SWP_TYPE_SHIFT / SWP_PTE_MARKER do not describe a usable layout"),
    };

/// x86-64's swap-PTE layout, from its headers: with it the PTE-level marker
/// tests are inline bit operations (see [`InvertedSwpPte`]).  Elsewhere the
/// C helpers are called.
#[cfg(CONFIG_X86_64)]
pub const ARCH_SWP_PTE: InvertedSwpPte = match InvertedSwpPte::new(
    bindings::SWP_TYPE_BITS,
    bindings::SWP_OFFSET_FIRST_BIT,
    (1 << bindings::_PAGE_BIT_PRESENT) | (1 << bindings::_PAGE_BIT_PROTNONE),
    // _PAGE_KNL_ERRATUM_MASK on x86-64.
    (1 << bindings::_PAGE_BIT_DIRTY) | (1 << bindings::_PAGE_BIT_ACCESSED),
) {
    Some(layout) => layout,
    None => panic!("the x86-64 swap PTE constants do not describe a usable layout"),
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
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct SwpEntry(bindings::swp_entry_t);

impl SwpEntry {
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
    /// boot-time self-check compares [`SWP_LAYOUT`] against.
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
    /// `_PAGE_UFFD_WP` (the boot self-check compares with C).
    #[inline]
    pub fn uffd_wp(self) -> bool {
        #[cfg(all(CONFIG_X86_64, CONFIG_HAVE_ARCH_USERFAULTFD_WP))]
        return self.val() & (1 << bindings::_PAGE_BIT_UFFD_WP) != 0;
        #[cfg(not(all(CONFIG_X86_64, CONFIG_HAVE_ARCH_USERFAULTFD_WP)))]
        return self.c_uffd_wp();
    }

    /// `pte_uffd_wp()` computed by C (reference for the self-check).
    #[inline]
    pub fn c_uffd_wp(self) -> bool {
        // SAFETY: a pure function of the value.
        unsafe { bindings::pte_uffd_wp(self.0) }
    }

    /// C: `pte_swp_uffd_wp()`: a swap PTE with the uffd-wp swap bit
    /// (`_PAGE_SWP_UFFD_WP`, which is `_PAGE_USER` on x86-64).
    #[inline]
    pub fn swp_uffd_wp(self) -> bool {
        #[cfg(all(CONFIG_X86_64, CONFIG_HAVE_ARCH_USERFAULTFD_WP))]
        return self.val() & (1 << bindings::_PAGE_BIT_USER) != 0;
        #[cfg(not(all(CONFIG_X86_64, CONFIG_HAVE_ARCH_USERFAULTFD_WP)))]
        return self.c_swp_uffd_wp();
    }

    /// `pte_swp_uffd_wp()` computed by C (reference for the self-check).
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
        #[cfg(CONFIG_X86_64)]
        return ARCH_SWP_PTE.pte_none(self.val());
        #[cfg(not(CONFIG_X86_64))]
        return self.c_is_none();
    }

    /// C: `pte_present()`.
    #[inline]
    pub fn is_present(self) -> bool {
        #[cfg(CONFIG_X86_64)]
        return ARCH_SWP_PTE.pte_present(self.val());
        #[cfg(not(CONFIG_X86_64))]
        return self.c_is_present();
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
        #[cfg(CONFIG_X86_64)]
        return SwpEntry::from_val(ARCH_SWP_PTE.pte_to_swp_entry(&SWP_LAYOUT, self.val()));
        #[cfg(not(CONFIG_X86_64))]
        return self.c_to_swp_entry();
    }

    /// C: `swp_entry_to_pte()`.
    #[inline]
    pub fn from_swp_entry(entry: SwpEntry) -> Self {
        #[cfg(CONFIG_X86_64)]
        return Self::from_val(ARCH_SWP_PTE.swp_entry_to_pte(&SWP_LAYOUT, entry.val()));
        #[cfg(not(CONFIG_X86_64))]
        return Self::c_from_swp_entry(entry);
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
    /// boot-time self-check.
    pub fn c_is_none(self) -> bool {
        // SAFETY: `pte_none()` only tests the bits of a PTE value.
        unsafe { bindings::pte_none(self.0) != 0 }
    }

    /// `pte_present()` computed by the C helper (self-check reference).
    pub fn c_is_present(self) -> bool {
        // SAFETY: `pte_present()` only tests the bits of a PTE value.
        unsafe { bindings::pte_present(self.0) != 0 }
    }

    /// `pte_to_swp_entry()` computed by the C helper (self-check reference).
    pub fn c_to_swp_entry(self) -> SwpEntry {
        // SAFETY: `pte_to_swp_entry()` only rearranges the bits of a value.
        SwpEntry(unsafe { bindings::pte_to_swp_entry(self.0) })
    }

    /// `swp_entry_to_pte()` computed by the C helper (self-check reference).
    pub fn c_from_swp_entry(entry: SwpEntry) -> Self {
        // SAFETY: `swp_entry_to_pte()` only rearranges the bits of a value.
        Self(unsafe { bindings::swp_entry_to_pte(entry.0) })
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
        #[cfg(CONFIG_X86_64)]
        return self.is_none();
        #[cfg(not(CONFIG_X86_64))]
        return self.c_is_huge_none();
    }

    /// `huge_pte_none()` computed by the C helper (self-check reference).
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
}

/// Reads the PTE at `ptep` (C: `ptep_get()`, which is `READ_ONCE()` on
/// x86-64: a volatile load here).
///
/// # Safety
///
/// `ptep` must point at a mapped PTE that stays mapped for the call.
#[inline]
pub unsafe fn ptep_get(ptep: *mut bindings::pte_t) -> Pte {
    #[cfg(CONFIG_X86_64)]
    // SAFETY: the caller keeps the PTE mapped; an aligned word load.
    return Pte::from_raw(unsafe { core::ptr::read_volatile(ptep) });
    #[cfg(not(CONFIG_X86_64))]
    // SAFETY: as above.
    return Pte::from_raw(unsafe { bindings::ptep_get(ptep) });
}
