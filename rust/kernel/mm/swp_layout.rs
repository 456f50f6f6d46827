// SPDX-License-Identifier: GPL-2.0

//! PTE markers encoded as swap entries: the architecture-independent part.
//!
//! A PTE marker is a non-present PTE that carries per-PTE information (the
//! userfaultfd write-protect bit, a "poisoned" bit) where there is no page.
//! It is stored as a swap entry of the reserved swap type `SWP_PTE_MARKER`,
//! whose offset field holds the marker bits.
//!
//! This file is pure logic over integers: it uses nothing from the kernel
//! crate, so it is compiled both into the kernel (`kernel::mm::swp_layout`)
//! and for the host, where `host-tests/` checks it exhaustively.  The
//! kernel supplies the real layout constants from its headers and checks at
//! boot (KUnit doctests of `kernel::mm::pte`) that this encoding agrees
//! with the C one for every marker value.

use core::ops::{BitAnd, BitOr};

/// The marker bits of a PTE marker (C: `pte_marker`, an `unsigned long`).
///
/// # Invariants
///
/// Only bits in [`PteMarker::MASK`] are set.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct PteMarker(u64);

impl PteMarker {
    /// No marker bit set.
    pub const EMPTY: Self = Self(0);
    /// The page is write-protected by userfaultfd (C: `PTE_MARKER_UFFD_WP`).
    pub const UFFD_WP: Self = Self(1 << 0);
    /// Any access must fail (C: `PTE_MARKER_POISONED`): swap-in errors,
    /// `UFFDIO_POISON`, hugetlb memory failure.
    pub const POISONED: Self = Self(1 << 1);
    /// Every marker bit this kernel knows (C: `PTE_MARKER_MASK`).
    pub const MASK: u64 = (1 << 2) - 1;

    /// The marker with the known bits of `bits`; other bits are dropped, as
    /// C's `pte_marker_get()` drops them.
    #[inline]
    pub const fn from_bits_truncate(bits: u64) -> Self {
        // INVARIANT: masked with `MASK`.
        Self(bits & Self::MASK)
    }

    /// The marker with exactly `bits`, or `None` if `bits` has a bit this
    /// kernel does not know.
    #[inline]
    pub const fn from_bits(bits: u64) -> Option<Self> {
        if bits & !Self::MASK == 0 {
            // INVARIANT: checked just above.
            Some(Self(bits))
        } else {
            None
        }
    }

    /// The raw bits, as C's `pte_marker`.
    #[inline]
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether no bit is set.
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every bit of `other` is set in `self`.
    #[inline]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `self` and `other` share a bit.
    #[inline]
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }
}

impl BitOr for PteMarker {
    type Output = Self;
    #[inline]
    fn bitor(self, rhs: Self) -> Self {
        // INVARIANT: both operands only have bits in `MASK`.
        Self(self.0 | rhs.0)
    }
}

impl BitAnd for PteMarker {
    type Output = Self;
    #[inline]
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

/// The layout of an architecture-independent swap entry (`swp_entry_t`):
/// the swap type sits in the bits from `type_shift` up, the offset below.
///
/// # Invariants
///
/// `0 < type_shift < 64` and `marker_type` fits above `type_shift`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SwpLayout {
    type_shift: u32,
    marker_type: u64,
}

impl SwpLayout {
    /// A layout with the swap type at `type_shift` (C: `SWP_TYPE_SHIFT`) and
    /// markers stored under swap type `marker_type` (C: `SWP_PTE_MARKER`).
    ///
    /// Returns `None` when the two do not describe a usable layout.
    #[inline]
    pub const fn new(type_shift: u32, marker_type: u64) -> Option<Self> {
        if type_shift == 0 || type_shift >= 64 || marker_type > (u64::MAX >> type_shift) {
            return None;
        }
        // The offset field must hold every marker bit.
        if Self::offset_mask_of(type_shift) & PteMarker::MASK != PteMarker::MASK {
            return None;
        }
        // INVARIANT: checked above.
        Some(Self {
            type_shift,
            marker_type,
        })
    }

    #[inline]
    const fn offset_mask_of(type_shift: u32) -> u64 {
        (1u64 << type_shift) - 1
    }

    /// Mask of the offset field (C: `SWP_OFFSET_MASK`).  This is also the
    /// largest value a marker entry's offset field can hold.
    #[inline]
    pub const fn offset_mask(&self) -> u64 {
        Self::offset_mask_of(self.type_shift)
    }

    /// The swap type of markers (C: `SWP_PTE_MARKER`).
    #[inline]
    pub const fn marker_type(&self) -> u64 {
        self.marker_type
    }

    /// C: `swp_entry(type, offset)`.
    #[inline]
    pub const fn swp_entry(&self, swp_type: u64, offset: u64) -> u64 {
        (swp_type << self.type_shift) | (offset & self.offset_mask())
    }

    /// C: `swp_type(entry)`.
    #[inline]
    pub const fn swp_type(&self, entry: u64) -> u64 {
        entry >> self.type_shift
    }

    /// C: `swp_offset(entry)`.
    #[inline]
    pub const fn swp_offset(&self, entry: u64) -> u64 {
        entry & self.offset_mask()
    }

    /// C: `make_pte_marker_entry(marker)`.
    #[inline]
    pub const fn make_pte_marker_entry(&self, marker: PteMarker) -> u64 {
        self.swp_entry(self.marker_type, marker.bits())
    }

    /// C: `is_pte_marker_entry(entry)`.
    #[inline]
    pub const fn is_pte_marker_entry(&self, entry: u64) -> bool {
        self.swp_type(entry) == self.marker_type
    }

    /// C: `pte_marker_get(entry)`: the marker bits of a marker entry.
    #[inline]
    pub const fn pte_marker_get(&self, entry: u64) -> PteMarker {
        PteMarker::from_bits_truncate(self.swp_offset(entry))
    }

    /// C: `make_poisoned_swp_entry()`.
    #[inline]
    pub const fn make_poisoned_swp_entry(&self) -> u64 {
        self.make_pte_marker_entry(PteMarker::POISONED)
    }

    /// C: `is_poisoned_swp_entry(entry)`.
    #[inline]
    pub const fn is_poisoned_swp_entry(&self, entry: u64) -> bool {
        self.is_pte_marker_entry(entry) && self.pte_marker_get(entry).contains(PteMarker::POISONED)
    }
}

/// How an architecture stores a swap entry in a non-present PTE, for the
/// layout x86-64 uses (`__swp_entry()`, `__swp_type()`, `__swp_offset()` in
/// `arch/x86/include/asm/pgtable_64.h`): the swap type in the top
/// `type_bits` bits of the PTE, the offset inverted in the bits from
/// `offset_first_bit` up to the type, and flag bits below.
///
/// With it the marker tests on a PTE are a few bit operations instead of
/// calls to C helpers.  The KUnit doctests of `kernel::mm::pte` check that
/// it gives what the C helpers give, for every marker and a sample of other
/// entries and PTEs.
///
/// # Invariants
///
/// `0 < type_bits` and `offset_first_bit + type_bits < 64`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct InvertedSwpPte {
    type_bits: u32,
    offset_first_bit: u32,
    present_mask: u64,
    none_ignore_mask: u64,
}

impl InvertedSwpPte {
    /// The layout with the given field positions: `present_mask` is the set
    /// of bits of which any makes a PTE present (C: `pte_present()`),
    /// `none_ignore_mask` the bits `pte_none()` ignores.
    #[inline]
    pub const fn new(
        type_bits: u32,
        offset_first_bit: u32,
        present_mask: u64,
        none_ignore_mask: u64,
    ) -> Option<Self> {
        if type_bits == 0 || offset_first_bit.saturating_add(type_bits) >= 64 {
            return None;
        }
        // INVARIANT: checked above.
        Some(Self {
            type_bits,
            offset_first_bit,
            present_mask,
            none_ignore_mask,
        })
    }

    /// C: `pte_none()`.
    #[inline]
    pub const fn pte_none(&self, pte: u64) -> bool {
        pte & !self.none_ignore_mask == 0
    }

    /// C: `pte_present()`.
    #[inline]
    pub const fn pte_present(&self, pte: u64) -> bool {
        pte & self.present_mask != 0
    }

    /// C: `is_swap_pte()`.
    #[inline]
    pub const fn is_swap_pte(&self, pte: u64) -> bool {
        !self.pte_none(pte) && !self.pte_present(pte)
    }

    /// C: `pte_to_swp_entry()`.  The flag bits below the offset (swap
    /// soft-dirty, uffd-wp, exclusive) do not reach the entry.
    #[inline]
    pub const fn pte_to_swp_entry(&self, swp: &SwpLayout, pte: u64) -> u64 {
        let swp_type = pte >> (64 - self.type_bits);
        let offset = (!pte << self.type_bits) >> (self.offset_first_bit + self.type_bits);
        swp.swp_entry(swp_type, offset)
    }

    /// C: `swp_entry_to_pte()`.
    #[inline]
    pub const fn swp_entry_to_pte(&self, swp: &SwpLayout, entry: u64) -> u64 {
        let offset = swp.swp_offset(entry);
        let swp_type = swp.swp_type(entry);
        ((!offset << (self.offset_first_bit + self.type_bits)) >> self.type_bits)
            | (swp_type << (64 - self.type_bits))
    }

    /// C: `is_pte_marker()`.
    #[inline]
    pub const fn is_pte_marker(&self, swp: &SwpLayout, pte: u64) -> bool {
        self.is_swap_pte(pte) && swp.is_pte_marker_entry(self.pte_to_swp_entry(swp, pte))
    }

    /// C: `make_pte_marker()`.
    #[inline]
    pub const fn make_pte_marker(&self, swp: &SwpLayout, marker: PteMarker) -> u64 {
        self.swp_entry_to_pte(swp, swp.make_pte_marker_entry(marker))
    }
}
