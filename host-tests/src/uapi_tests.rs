// SPDX-License-Identifier: GPL-2.0

//! The ioctl argument checks against a direct transcription of the C in
//! fs/userfaultfd.c (validate_range(), the mode checks of
//! userfaultfd_writeprotect()), over edge values and a grid of inputs.

use crate::uapi::{
    UffdRange, WpMode, UFFDIO_WRITEPROTECT_MODE_DONTWAKE, UFFDIO_WRITEPROTECT_MODE_WP,
};

const PAGE: u64 = 4096;
/// x86-64's TASK_SIZE_MAX with 4-level paging.
const TASK_SIZE: u64 = (1 << 47) - PAGE;

/// The C, statement by statement: 0 or -EINVAL.
fn c_validate_range(start: u64, len: u64, task_size: u64) -> i32 {
    let page_mask = !(PAGE - 1);
    if start & !page_mask != 0 {
        return -22;
    }
    if len & !page_mask != 0 {
        return -22;
    }
    if len == 0 {
        return -22;
    }
    if start >= task_size {
        return -22;
    }
    if len > task_size - start {
        return -22;
    }
    if start.wrapping_add(len) <= start {
        return -22;
    }
    0
}

fn c_wp_mode(mode: u64) -> i32 {
    if mode & !(UFFDIO_WRITEPROTECT_MODE_DONTWAKE | UFFDIO_WRITEPROTECT_MODE_WP) != 0 {
        return -22;
    }
    let wp = mode & UFFDIO_WRITEPROTECT_MODE_WP != 0;
    let dontwake = mode & UFFDIO_WRITEPROTECT_MODE_DONTWAKE != 0;
    if wp && dontwake {
        return -22;
    }
    0
}

fn interesting() -> Vec<u64> {
    let mut v = vec![
        0,
        1,
        PAGE - 1,
        PAGE,
        PAGE + 1,
        2 * PAGE,
        1 << 21,
        (1 << 21) + PAGE,
    ];
    for base in [TASK_SIZE, 1 << 47, u64::MAX - PAGE + 1, u64::MAX, 1 << 63] {
        for d in [0, PAGE, 2 * PAGE] {
            v.push(base.wrapping_sub(d));
            v.push(base.wrapping_add(d));
        }
        v.push(base.wrapping_sub(1));
    }
    v
}

#[test]
fn validate_range_matches_c() {
    let vals = interesting();
    let mut accepted = 0;
    for &start in &vals {
        for &len in &vals {
            let c = c_validate_range(start, len, TASK_SIZE);
            let r = UffdRange::validate(start, len, PAGE, TASK_SIZE);
            assert_eq!(c == 0, r.is_some(), "start {start:#x} len {len:#x}");
            if let Some(r) = r {
                accepted += 1;
                assert_eq!((r.start(), r.len(), r.end()), (start, len, start + len));
                assert!(r.end() <= TASK_SIZE);
            }
        }
    }
    // The grid must exercise both answers.
    assert!(accepted > 10, "only {accepted} ranges accepted");
}

#[test]
fn validate_range_edges() {
    assert!(UffdRange::validate(PAGE, PAGE, PAGE, TASK_SIZE).is_some());
    assert!(UffdRange::validate(0, PAGE, PAGE, TASK_SIZE).is_some());
    assert!(UffdRange::validate(PAGE, 0, PAGE, TASK_SIZE).is_none());
    assert!(UffdRange::validate(PAGE + 1, PAGE, PAGE, TASK_SIZE).is_none());
    assert!(UffdRange::validate(PAGE, PAGE + 1, PAGE, TASK_SIZE).is_none());
    assert!(UffdRange::validate(TASK_SIZE - PAGE, PAGE, PAGE, TASK_SIZE).is_some());
    assert!(UffdRange::validate(TASK_SIZE - PAGE, 2 * PAGE, PAGE, TASK_SIZE).is_none());
    assert!(UffdRange::validate(TASK_SIZE, PAGE, PAGE, TASK_SIZE).is_none());
    // Wrapping lengths are refused, not wrapped.
    assert!(UffdRange::validate(PAGE, u64::MAX - PAGE + 1, PAGE, TASK_SIZE).is_none());
}

#[test]
fn hugetlb_alignment() {
    let huge = 1 << 21;
    let r = UffdRange::validate(huge, huge, PAGE, TASK_SIZE).unwrap();
    assert!(r.is_aligned_to(huge));
    let r = UffdRange::validate(huge + PAGE, huge, PAGE, TASK_SIZE).unwrap();
    assert!(!r.is_aligned_to(huge));
    let r = UffdRange::validate(huge, huge + PAGE, PAGE, TASK_SIZE).unwrap();
    assert!(!r.is_aligned_to(huge));
    assert!(r.is_aligned_to(PAGE));
}

#[test]
fn wp_mode_matches_c() {
    for mode in (0..64u64).chain([1 << 63, u64::MAX, 1 << 2, (1 << 2) | 1]) {
        let c = c_wp_mode(mode);
        let r = WpMode::decode(mode);
        assert_eq!(c == 0, r.is_some(), "mode {mode:#x}");
        if let Some(m) = r {
            assert_eq!(m.wp, mode & UFFDIO_WRITEPROTECT_MODE_WP != 0);
            assert_eq!(m.dontwake, mode & UFFDIO_WRITEPROTECT_MODE_DONTWAKE != 0);
            // C wakes only when un-protecting without DONTWAKE.
            assert_eq!(m.wakes(), mode == 0);
        }
    }
}

/// C's validate_unaligned_range().
fn c_validate_unaligned_range(start: u64, len: u64, task_size: u64) -> i32 {
    if len & (PAGE - 1) != 0 || len == 0 || start >= task_size || len > task_size - start {
        return -22;
    }
    if start.wrapping_add(len) <= start {
        return -22;
    }
    0
}

#[test]
fn validate_unaligned_range_matches_c() {
    let mut vals = interesting();
    vals.extend([1, 7, PAGE + 7, TASK_SIZE - 1, TASK_SIZE - PAGE - 1]);
    for &start in &vals {
        for &len in &vals {
            assert_eq!(
                c_validate_unaligned_range(start, len, TASK_SIZE) == 0,
                UffdRange::validate_unaligned(start, len, PAGE, TASK_SIZE),
                "start {start:#x} len {len:#x}"
            );
        }
    }
    assert!(UffdRange::validate_unaligned(7, PAGE, PAGE, TASK_SIZE));
    assert!(UffdRange::validate(7, PAGE, PAGE, TASK_SIZE).is_none());
}

#[test]
fn fill_modes_match_c() {
    use crate::uapi::{FillOp, UFFDIO_FILL_MODE_DONTWAKE as DW, UFFDIO_FILL_MODE_WP as WP};
    for op in [
        FillOp::Copy,
        FillOp::Zeropage,
        FillOp::Continue,
        FillOp::Poison,
    ] {
        // The C: COPY and CONTINUE allow DONTWAKE|WP, the others DONTWAKE.
        let allowed = match op {
            FillOp::Copy | FillOp::Continue => DW | WP,
            _ => DW,
        };
        for mode in (0..16u64).chain([1 << 63, u64::MAX]) {
            let r = op.decode_mode(mode);
            assert_eq!(r.is_some(), mode & !allowed == 0, "{op:?} mode {mode:#x}");
            if let Some(m) = r {
                assert_eq!((m.wp, m.dontwake), (mode & WP != 0, mode & DW != 0));
            }
        }
    }
}

#[test]
fn fill_outcome_matches_c() {
    use crate::uapi::{FillOutcome, FillProgress};
    let len = 4 * PAGE;
    // Nothing filled: the error, in the result field and as the return.
    let mut p = FillProgress::new();
    p.stop(-17);
    assert_eq!(p.result_field(), -17);
    assert_eq!(p.wake_len(), 0);
    assert_eq!(p.outcome(len), FillOutcome::Failed(-17));
    // Everything filled.
    let mut p = FillProgress::new();
    for _ in 0..4 {
        p.advance(PAGE);
    }
    assert_eq!(p.result_field(), len as i64);
    assert_eq!(p.wake_len(), len);
    assert_eq!(p.outcome(len), FillOutcome::Complete);
    // Part filled, then an error: the bytes, a wake-up, and EAGAIN.
    let mut p = FillProgress::new();
    p.advance(2 * PAGE);
    p.stop(-17);
    assert_eq!(p.result_field(), 2 * PAGE as i64);
    assert_eq!(p.wake_len(), 2 * PAGE);
    assert_eq!(p.outcome(len), FillOutcome::Partial);
    // Stopped with neither progress nor error (cannot happen): no wake-up,
    // and EAGAIN rather than success.
    let p = FillProgress::new();
    assert_eq!(p.wake_len(), 0);
    assert_eq!(p.outcome(len), FillOutcome::Partial);
}
