// SPDX-License-Identifier: GPL-2.0

//! Exhaustive checks of the PTE marker swap-entry encoding.

use uffd_rs_host_tests::swp_layout::{PteMarker, SwpLayout};

/// x86_64 in 6.12: BITS_PER_XA_VALUE (63) - MAX_SWAPFILES_SHIFT (5), and
/// SWP_PTE_MARKER = 31, the last of the 32 swap types.
fn x86_64() -> SwpLayout {
    SwpLayout::new(58, 31).expect("x86_64 layout is valid")
}

/// Other shapes a layout can take, so the logic is not tied to one.
fn layouts() -> Vec<SwpLayout> {
    vec![
        x86_64(),
        SwpLayout::new(27, 31).unwrap(), // a 32-bit kernel's layout
        SwpLayout::new(58, 30).unwrap(), // fewer special swap types
        SwpLayout::new(2, 0x3fff_ffff_ffff_ffff).unwrap(), // smallest offset field
    ]
}

fn all_markers() -> impl Iterator<Item = PteMarker> {
    (0..=PteMarker::MASK).map(|b| PteMarker::from_bits(b).unwrap())
}

#[test]
fn every_marker_bit_combination_round_trips() {
    for l in layouts() {
        for m in all_markers() {
            let e = l.make_pte_marker_entry(m);
            assert!(l.is_pte_marker_entry(e), "{l:?} {m:?}");
            assert_eq!(l.pte_marker_get(e), m, "{l:?}");
            assert_eq!(l.swp_type(e), l.marker_type());
            assert_eq!(l.swp_offset(e), m.bits());
            assert_eq!(l.is_poisoned_swp_entry(e), m.contains(PteMarker::POISONED));
        }
    }
}

#[test]
fn marker_constants_match_c() {
    assert_eq!(PteMarker::UFFD_WP.bits(), 1);
    assert_eq!(PteMarker::POISONED.bits(), 2);
    assert_eq!(PteMarker::MASK, 3);
    assert_eq!(
        (PteMarker::UFFD_WP | PteMarker::POISONED).bits(),
        PteMarker::MASK
    );
    // The x86_64 marker entry values, worked out by hand from swapops.h.
    let l = x86_64();
    assert_eq!(l.make_pte_marker_entry(PteMarker::EMPTY), 31 << 58);
    assert_eq!(l.make_pte_marker_entry(PteMarker::UFFD_WP), (31 << 58) | 1);
    assert_eq!(l.make_poisoned_swp_entry(), (31 << 58) | 2);
}

#[test]
fn unknown_bits_are_refused_or_dropped() {
    for b in [4u64, 8, 1 << 20, u64::MAX] {
        assert_eq!(PteMarker::from_bits(b), None);
        assert_eq!(PteMarker::from_bits_truncate(b).bits(), b & PteMarker::MASK);
    }
}

#[test]
fn non_marker_swap_entries_are_never_markers() {
    for l in layouts() {
        for t in (0..64u64).filter(|&t| t != l.marker_type()) {
            for off in [0, 1, 2, 3, 0x1234, l.offset_mask()] {
                let e = l.swp_entry(t, off);
                assert!(!l.is_pte_marker_entry(e), "{l:?} type {t} off {off:#x}");
                assert!(!l.is_poisoned_swp_entry(e));
            }
        }
    }
}

#[test]
fn largest_marker_value_that_fits() {
    for l in layouts() {
        // The offset field is full: still a marker, and only the known bits
        // are read back (C masks with PTE_MARKER_MASK the same way).
        let e = l.swp_entry(l.marker_type(), l.offset_mask());
        assert!(l.is_pte_marker_entry(e));
        assert_eq!(l.pte_marker_get(e).bits(), PteMarker::MASK);
        // An offset wider than the field cannot spill into the type.
        let e = l.swp_entry(l.marker_type(), u64::MAX);
        assert_eq!(l.swp_type(e), l.marker_type());
    }
    assert_eq!(x86_64().offset_mask(), (1 << 58) - 1);
}

#[test]
fn bad_layouts_are_refused() {
    assert_eq!(SwpLayout::new(0, 1), None);
    assert_eq!(SwpLayout::new(64, 1), None);
    assert_eq!(SwpLayout::new(1, 1), None); // offset field too small for MASK
    assert_eq!(SwpLayout::new(58, 64), None); // type does not fit above bit 58
    assert!(SwpLayout::new(58, 63).is_some());
}
