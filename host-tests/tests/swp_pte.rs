// SPDX-License-Identifier: GPL-2.0

//! The x86-64 swap-PTE layer of the marker encoding (`InvertedSwpPte`),
//! checked against a transcription of the C macros of
//! arch/x86/include/asm/pgtable_64.h and pgtable.h.

use uffd_rs_host_tests::swp_layout::{InvertedSwpPte, PteMarker, SwpLayout};

fn swp() -> SwpLayout {
    SwpLayout::new(58, 31).unwrap()
}

fn arch() -> InvertedSwpPte {
    // SWP_TYPE_BITS 5, SWP_OFFSET_FIRST_BIT 9 (_PAGE_BIT_PROTNONE + 1),
    // present: _PAGE_PRESENT | _PAGE_PROTNONE, pte_none() ignores
    // _PAGE_DIRTY | _PAGE_ACCESSED.
    InvertedSwpPte::new(5, 9, 1 | 1 << 8, 1 << 5 | 1 << 6).unwrap()
}

// The C macros, written out: __swp_entry(), __swp_type(), __swp_offset().
fn c_swp_entry_to_pte(swp_type: u64, offset: u64) -> u64 {
    (!offset << 14 >> 5) | (swp_type << 59)
}
fn c_swp_type(pte: u64) -> u64 {
    pte >> 59
}
fn c_swp_offset(pte: u64) -> u64 {
    !pte << 5 >> 14
}
fn c_pte_none(pte: u64) -> bool {
    pte & !(1 << 5 | 1 << 6) == 0
}
fn c_pte_present(pte: u64) -> bool {
    pte & (1 | 1 << 8) != 0
}

/// A small deterministic generator (no crates needed).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 ^ (self.0 >> 29)
    }
}

#[test]
fn markers_match_the_c_macros() {
    let (s, a) = (swp(), arch());
    for bits in 0..=PteMarker::MASK {
        let m = PteMarker::from_bits(bits).unwrap();
        let pte = a.make_pte_marker(&s, m);
        assert_eq!(pte, c_swp_entry_to_pte(31, bits), "marker {bits}");
        assert!(a.is_pte_marker(&s, pte));
        assert!(!a.pte_none(pte) && !a.pte_present(pte) && a.is_swap_pte(pte));
        let e = a.pte_to_swp_entry(&s, pte);
        assert_eq!(s.pte_marker_get(e), m);
        // The swap flag bits (soft-dirty bit 1, uffd-wp bit 2, exclusive
        // bit 7) do not change what the entry says.
        for flag in [1u64 << 1, 1 << 2, 1 << 7] {
            assert_eq!(a.pte_to_swp_entry(&s, pte | flag), e);
            assert!(a.is_pte_marker(&s, pte | flag));
        }
    }
}

#[test]
fn other_swap_entries_are_not_markers_and_round_trip() {
    let (s, a) = (swp(), arch());
    let mut rng = Lcg(1);
    for t in 0..31u64 {
        for _ in 0..200 {
            let offset = rng.next() & ((1 << 50) - 1);
            let pte = a.swp_entry_to_pte(&s, s.swp_entry(t, offset));
            assert_eq!(pte, c_swp_entry_to_pte(t, offset));
            assert_eq!(c_swp_type(pte), t);
            assert_eq!(c_swp_offset(pte), offset);
            assert!(!a.is_pte_marker(&s, pte), "type {t} offset {offset:#x}");
            assert_eq!(a.pte_to_swp_entry(&s, pte), s.swp_entry(t, offset));
        }
    }
}

#[test]
fn present_ptes_are_never_markers() {
    let (s, a) = (swp(), arch());
    let mut rng = Lcg(2);
    for _ in 0..100_000 {
        let r = rng.next();
        for pte in [r | 1, (r & !1) | 1 << 8, r | 0xf800_0000_0000_0001] {
            assert!(a.pte_present(pte));
            assert_eq!(a.pte_present(pte), c_pte_present(pte));
            assert!(!a.is_swap_pte(pte));
            assert!(!a.is_pte_marker(&s, pte), "{pte:#x}");
        }
    }
}

#[test]
fn none_ptes_are_none_and_not_markers() {
    let (s, a) = (swp(), arch());
    for pte in [0u64, 1 << 5, 1 << 6, 1 << 5 | 1 << 6] {
        assert!(a.pte_none(pte) && c_pte_none(pte));
        assert!(!a.is_pte_marker(&s, pte));
    }
    let mut rng = Lcg(3);
    for _ in 0..100_000 {
        let pte = rng.next();
        assert_eq!(a.pte_none(pte), c_pte_none(pte));
        assert_eq!(a.pte_present(pte), c_pte_present(pte));
        // A marker is exactly a non-present PTE with swap type 31.
        let want = !c_pte_none(pte) && !c_pte_present(pte) && c_swp_type(pte) == 31;
        assert_eq!(a.is_pte_marker(&s, pte), want, "{pte:#x}");
    }
}

#[test]
fn bad_arch_layouts_are_refused() {
    assert_eq!(InvertedSwpPte::new(0, 9, 1, 0), None);
    assert_eq!(InvertedSwpPte::new(5, 59, 1, 0), None);
    assert_eq!(InvertedSwpPte::new(5, u32::MAX, 1, 0), None);
}
