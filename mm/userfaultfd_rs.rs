// SPDX-License-Identifier: GPL-2.0

//! Rust implementation of the userfaultfd resolution paths and PTE markers.
//!
//! Built into the kernel when `CONFIG_USERFAULTFD_RUST` is set; core mm calls
//! the `#[no_mangle]` entry points declared in `include/linux/userfaultfd_rs.h`
//! and, for PTE markers, in `include/linux/swapops.h` (whose C inline versions
//! are compiled out under the option).
//!
//! The userfaultfd logic is safe Rust over the abstraction layer,
//! `kernel::mm`, where the `unsafe` code lives.  The one exception is the
//! C boundary: an entry point that C calls with raw pointers turns them
//! into abstraction types, relying on the locks its C caller holds (stated
//! in its `# Safety` section).
//!
//! - this file: the PTE marker helpers, the debugfs probe, the init;
//! - `userfaultfd_rs_uapi.rs`: the ioctl argument checks (pure, host-tested);
//! - `userfaultfd_rs_fill.rs`: the fill ioctls (`UFFDIO_COPY`, `ZEROPAGE`,
//!   `CONTINUE`, `POISON`);
//! - `userfaultfd_rs_wp.rs`: `UFFDIO_WRITEPROTECT` and the uffd-wp marker
//!   life cycle.

use kernel::ffi::{c_int, c_long, c_ulong};
use kernel::mm::pgtable::PteTableGuard;
use kernel::mm::pte::{Pte, PteMarker, SwpEntry, SWP_LAYOUT};
use kernel::mm::virt::{MmRef, VmaRef};
use kernel::prelude::*;

/// Prefix of this crate's log messages (the `pr_*!` macros read it).
const __LOG_PREFIX: &[u8] = b"userfaultfd\0";

#[path = "userfaultfd_rs_fill.rs"]
pub mod fill;
#[path = "userfaultfd_rs_uapi.rs"]
mod uapi;
#[path = "userfaultfd_rs_wp.rs"]
pub mod wp;

// ---------------------------------------------------------------------------
// PTE markers: the C API of include/linux/swapops.h.
// ---------------------------------------------------------------------------

/// C: `make_pte_marker_entry()`.  Bits outside `PTE_MARKER_MASK` are
/// dropped (no caller passes any).
#[no_mangle]
pub extern "C" fn make_pte_marker_entry(marker: c_ulong) -> SwpEntry {
    SwpEntry::new_marker(PteMarker::from_bits_truncate(marker as u64))
}

/// C: `is_pte_marker_entry()`.
#[no_mangle]
pub extern "C" fn is_pte_marker_entry(entry: SwpEntry) -> bool {
    entry.is_pte_marker()
}

/// C: `pte_marker_get()`.
#[no_mangle]
pub extern "C" fn pte_marker_get(entry: SwpEntry) -> c_ulong {
    entry.pte_marker().bits() as c_ulong
}

/// C: `is_pte_marker()`.
#[no_mangle]
pub extern "C" fn is_pte_marker(pte: Pte) -> bool {
    pte.is_marker()
}

/// C: `make_pte_marker()`.
#[no_mangle]
pub extern "C" fn make_pte_marker(marker: c_ulong) -> Pte {
    Pte::new_marker(PteMarker::from_bits_truncate(marker as u64))
}

/// C: `make_poisoned_swp_entry()`.
#[no_mangle]
pub extern "C" fn make_poisoned_swp_entry() -> SwpEntry {
    SwpEntry::new_poisoned()
}

/// C: `is_poisoned_swp_entry()`.
#[no_mangle]
pub extern "C" fn is_poisoned_swp_entry(entry: SwpEntry) -> c_int {
    entry.is_poisoned() as c_int
}

/// C: `pte_none_mostly()`.
#[no_mangle]
pub extern "C" fn pte_none_mostly(pte: Pte) -> c_int {
    pte.is_none_mostly() as c_int
}

/// C: `huge_pte_none_mostly()`.
#[cfg(CONFIG_HUGETLB_PAGE)]
#[no_mangle]
pub extern "C" fn huge_pte_none_mostly(pte: Pte) -> c_int {
    pte.is_huge_none_mostly() as c_int
}

/// C: `pte_marker_entry_uffd_wp()` (include/linux/userfaultfd_k.h): a
/// marker entry with the uffd-wp bit.
#[cfg(CONFIG_PTE_MARKER_UFFD_WP)]
#[no_mangle]
pub extern "C" fn pte_marker_entry_uffd_wp(entry: SwpEntry) -> bool {
    entry.is_pte_marker() && entry.pte_marker().contains(PteMarker::UFFD_WP)
}

/// C: `pte_marker_uffd_wp()` (include/linux/userfaultfd_k.h): a marker PTE
/// with the uffd-wp bit.
#[cfg(CONFIG_PTE_MARKER_UFFD_WP)]
#[no_mangle]
pub extern "C" fn pte_marker_uffd_wp(pte: Pte) -> bool {
    pte.marker()
        .is_some_and(|marker| marker.contains(PteMarker::UFFD_WP))
}

// ---------------------------------------------------------------------------
// The PTE probe behind /sys/kernel/debug/userfaultfd_rs/pte (for the tests).
// ---------------------------------------------------------------------------

// Result kinds, as in include/linux/userfaultfd_rs.h (UFFD_RS_PROBE_*).
const PROBE_NONE: c_long = 0;
const PROBE_PRESENT: c_long = 1;
const PROBE_SWAP: c_long = 2;
const PROBE_MARKER: c_long = 3;
const PROBE_NO_TABLE: c_long = 4;

/// What the page table of the current task holds at `addr`: a negative
/// errno (`ESRCH` without an address space, `ENOENT` without a VMA,
/// `EOPNOTSUPP` in hugetlb), or a `UFFD_RS_PROBE_*` kind with the marker
/// bits in bits 8 and up.
#[no_mangle]
pub extern "C" fn userfaultfd_rs_probe_pte(addr: c_ulong) -> c_long {
    match probe_pte(addr) {
        Ok(kind) => kind,
        Err(e) => e.to_errno() as c_long,
    }
}

fn probe_pte(addr: usize) -> Result<c_long> {
    let mm = MmRef::current().ok_or(ESRCH)?;
    // As the fault path does: the per-VMA lock first, the mmap lock when
    // that fails.
    #[cfg(CONFIG_PER_VMA_LOCK)]
    if let Some(vma) = mm.lock_vma_under_rcu(addr) {
        return probe_in_vma(&vma, addr);
    }
    let mmap = mm.mmap_read_lock();
    let vma = mmap.vma_lookup(addr).ok_or(ENOENT)?;
    probe_in_vma(vma, addr)
}

fn probe_in_vma(vma: &VmaRef, addr: usize) -> Result<c_long> {
    let Some(table) = PteTableGuard::lock(vma, addr)? else {
        return Ok(PROBE_NO_TABLE);
    };
    let pte = table.get();
    Ok(if pte.is_none() {
        PROBE_NONE
    } else if pte.is_present() {
        PROBE_PRESENT
    } else if let Some(marker) = pte.marker() {
        PROBE_MARKER | ((marker.bits() as c_long) << 8)
    } else {
        PROBE_SWAP
    })
}

// ---------------------------------------------------------------------------
// Boot-time self-check of the marker encoding.
// ---------------------------------------------------------------------------

/// Compares what the Rust encoding says about `pte` with what the C helpers
/// say.  Returns whether they agree on everything.
fn pte_agrees_with_c(pte: Pte) -> bool {
    let none = pte.c_is_none();
    let present = pte.c_is_present();
    let swap = !none && !present;
    let c_marker = swap && pte.c_to_swp_entry().is_pte_marker();
    let mut ok = pte.is_none() == none
        && pte.is_present() == present
        && pte.is_swap() == swap
        && pte.is_marker() == c_marker
        && pte.is_none_mostly() == (none || c_marker);
    #[cfg(CONFIG_HUGETLB_PAGE)]
    {
        ok &= pte.is_huge_none() == pte.c_is_huge_none();
    }
    ok &= pte.uffd_wp() == pte.c_uffd_wp();
    if swap {
        ok &= pte.swp_uffd_wp() == pte.c_swp_uffd_wp();
    }
    if swap {
        let entry = pte.c_to_swp_entry();
        ok &= pte.to_swp_entry() == entry
            && pte.marker() == c_marker.then(|| entry.pte_marker())
            && Pte::from_swp_entry(entry).val() == Pte::c_from_swp_entry(entry).val();
    }
    if !ok {
        pr_err!(
            "pte_marker self-check: PTE {:#x} read differently by Rust and C\n",
            pte.val()
        );
    }
    ok
}

/// Checks, for every marker value, that the Rust encoding gives the swap
/// entry and PTE the C helpers give, and reads them back the same; then the
/// same for every other swap type (never a marker), with the flag bits a
/// swap PTE may carry, and for none and present PTEs.  Host tests cannot
/// catch a disagreement with the real layout; this can.
///
/// Returns the number of failed checks (0 when all agree).
fn pte_marker_selfcheck() -> u32 {
    let mut failed = 0u32;
    for bits in 0..=PteMarker::MASK {
        let marker = PteMarker::from_bits_truncate(bits);
        let rust = SwpEntry::new_marker(marker);
        let c = SwpEntry::from_c_swp_entry(SWP_LAYOUT.marker_type(), bits);
        let pte = Pte::new_marker(marker);
        let ok = rust == c
            && rust.is_pte_marker()
            && rust.pte_marker() == marker
            && pte.val() == Pte::c_from_swp_entry(c).val()
            && pte.is_marker()
            && pte.marker() == Some(marker)
            && pte_agrees_with_c(pte);
        if !ok {
            pr_err!(
                "pte_marker self-check: marker {:#x}: Rust entry {:#x}, C entry {:#x}, pte {:#x}\n",
                bits,
                rust.val(),
                c.val(),
                pte.val()
            );
            failed += 1;
        }
    }
    // Every other swap type, at a few offsets and with the low flag bits
    // (swap soft-dirty, uffd-wp, exclusive on x86-64) set: never a marker.
    for swp_type in 0..SWP_LAYOUT.marker_type() {
        for offset in [0, 1, PteMarker::MASK, 0x12345, (1u64 << 50) - 1] {
            let entry = SwpEntry::from_c_swp_entry(swp_type, offset);
            let pte = Pte::c_from_swp_entry(entry);
            for flags in [0u64, 1 << 1, 1 << 2, 1 << 7] {
                let pte = Pte::from_val(pte.val() | flags);
                if entry.is_pte_marker() || pte.is_marker() || !pte_agrees_with_c(pte) {
                    pr_err!(
                        "pte_marker self-check: swap type {} offset {:#x} flags {:#x} misread\n",
                        swp_type,
                        offset,
                        flags
                    );
                    failed += 1;
                }
            }
        }
    }
    // None PTEs (with the bits pte_none() ignores) and present PTEs.
    for val in [
        0u64,
        1 << 5,
        1 << 6,
        (1 << 5) | (1 << 6),
        1,
        1 << 8,
        0x8000_0000_0123_4067,
        0x0000_0000_7654_3025,
        0x0000_0000_0123_4467,
        0xf800_0000_0000_0001,
    ] {
        if !pte_agrees_with_c(Pte::from_val(val)) {
            failed += 1;
        }
    }
    failed
}

/// Called once from `userfaultfd_init()`, before `/dev/userfaultfd` is
/// registered: checks the marker encoding against the C layout.
///
/// Returns 0, or `-EINVAL` when the encoding disagrees with the kernel's
/// layout (then `/dev/userfaultfd` is not registered: better no userfaultfd
/// than markers that are misread).
#[no_mangle]
pub extern "C" fn userfaultfd_rs_init() -> c_int {
    pr_info!("Rust implementation of the resolution paths enabled\n");
    let failed = pte_marker_selfcheck();
    if failed != 0 {
        pr_err!("pte_marker self-check: FAILED ({} checks)\n", failed);
        return EINVAL.to_errno();
    }
    pr_info!(
        "pte_marker self-check: passed ({} marker values, {} other swap types, none and present PTEs)\n",
        PteMarker::MASK + 1,
        SWP_LAYOUT.marker_type()
    );
    0
}
