// SPDX-License-Identifier: GPL-2.0

//! Userfaultfd write-protect: `UFFDIO_WRITEPROTECT`, and the decisions of
//! the generic mm code that keep a write-protected page protected through
//! the life of its PTE (the uffd-wp marker life cycle).
//!
//! Protecting a range changes its PTEs with `change_protection()`: present
//! PTEs get the uffd-wp bit, swap PTEs their uffd-wp swap bit, and none
//! PTEs of VMAs that use markers (file memory; anonymous memory with
//! `UFFD_FEATURE_WP_UNPOPULATED`) a `PTE_MARKER_UFFD_WP` marker.  From then
//! on the bit must survive whatever happens to the PTE:
//! - zapping (punch hole, `MADV_DONTNEED`, truncation, reclaim, migration)
//!   replaces the PTE with a marker: [`zap_install_uffd_wp_markers`] and
//!   [`pte_install_uffd_wp_if_needed`];
//! - fork copies the marker only into a child that stays registered for
//!   write-protect: [`copy_pte_marker`];
//! - a fault on the marker is a missing fault that keeps the bit, so the
//!   new page is mapped write-protected and the next write raises the
//!   write-protect message: [`pte_marker_fault_action`] and
//!   [`uffd_fault_orig_pte_uffd_wp`];
//! - fault-around must not map pages around the fault without a message:
//!   [`uffd_disable_fault_around`].
//!
//! The functions with C names are called by core mm with the locks their C
//! counterparts documented; turning their raw pointers into the abstraction
//! types is the only `unsafe` here.

use crate::fill::read_words;
use crate::uapi::{UffdRange, WpMode};
use core::cmp::{max, min};
use kernel::bindings;
use kernel::ffi::{c_int, c_long, c_uint, c_ulong};
use kernel::mm::pgtable::PteRun;
use kernel::mm::pte::{Pte, PteMarker, SwpEntry};
use kernel::mm::uffd::UffdCtx;
use kernel::mm::virt::{MmRef, MmapLocked, VmaRef, VmaRmapRef};
use kernel::prelude::*;
use kernel::uaccess::UserPtr;

// ---------------------------------------------------------------------------
// UFFDIO_WRITEPROTECT
// ---------------------------------------------------------------------------

/// `struct uffdio_writeprotect`: `range.start`, `range.len`, `mode`.
const UFFDIO_WRITEPROTECT_SIZE: usize = 3 * core::mem::size_of::<u64>();
const _: () =
    assert!(core::mem::size_of::<bindings::uffdio_writeprotect>() == UFFDIO_WRITEPROTECT_SIZE);

/// The `UFFDIO_WRITEPROTECT` ioctl on `ctx`, with the user pointer `arg`.
///
/// # Safety
///
/// `ctx` must be the context of the userfaultfd file the ioctl was made
/// on, which keeps it live for the call.
#[no_mangle]
pub unsafe extern "C" fn userfaultfd_rs_writeprotect(
    ctx: *mut bindings::userfaultfd_ctx,
    arg: c_ulong,
) -> c_int {
    // SAFETY: the caller's file holds the context for the call.
    let ctx = unsafe { UffdCtx::from_raw(ctx) };
    match userfaultfd_writeprotect(ctx, arg as UserPtr) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// C: `userfaultfd_writeprotect()`: the checks in the order C makes them
/// (so that each bad input gets the same errno), then the range, then the
/// wake-up.
fn userfaultfd_writeprotect(ctx: &UffdCtx, arg: UserPtr) -> Result {
    if ctx.mmap_changing() {
        return Err(EAGAIN);
    }
    let [start, len, mode] = read_words::<3>(arg)?;

    let range = UffdRange::validate(start, len, bindings::PAGE_SIZE as u64, ctx.task_size())
        .ok_or(EINVAL)?;
    let mode = WpMode::decode(mode).ok_or(EINVAL)?;

    let mm = ctx.mmget().ok_or(ESRCH)?;
    mwriteprotect_range(ctx, &mm, range, mode.wp)?;
    drop(mm);

    if mode.wakes() {
        ctx.wake(range.start() as usize, range.len() as usize);
    }
    Ok(())
}

/// C: `mwriteprotect_range()`: protects or un-protects every VMA of the
/// range.  Holes between VMAs are skipped; a VMA not registered for
/// write-protect ends it with `ENOENT`, as does a range without VMAs; a
/// hugetlb VMA needs the range aligned to its page size (`EINVAL`).
fn mwriteprotect_range(ctx: &UffdCtx, mm: &MmRef, range: UffdRange, enable_wp: bool) -> Result {
    let mmap = mm.mmap_read_lock();
    // A non-cooperative event (fork, mremap, ...) changing the mappings
    // would race with us: user space retries after reading it.
    let changing = ctx.map_changing_read();
    if changing.mmap_changing() {
        return Err(EAGAIN);
    }

    let (start, end) = (range.start() as usize, range.end() as usize);
    let mut ret = Err(ENOENT);
    for vma in mmap.locked().vmas(start, end) {
        if !vma.uffd_modes().wp {
            return Err(ENOENT);
        }
        if vma.is_hugetlb() && !range.is_aligned_to(vma.kernel_pagesize() as u64) {
            return Err(EINVAL);
        }
        let (from, to) = (max(vma.start(), start), min(vma.end(), end));
        wp_range(mmap.locked(), vma, from, to, enable_wp)?;
        ret = Ok(());
    }
    ret
}

/// C: `uffd_wp_range()`: sets or clears the uffd-wp bit of the PTEs of
/// `[start, end)` in `vma`, installing markers in the none PTEs of VMAs
/// that use them.  Returns the number of PTEs changed.
fn wp_range(
    mm: MmapLocked<'_>,
    vma: &VmaRef,
    start: usize,
    end: usize,
    enable_wp: bool,
) -> Result<usize> {
    let mut cp_flags = if enable_wp {
        bindings::MM_CP_UFFD_WP
    } else {
        bindings::MM_CP_UFFD_WP_RESOLVE
    };
    // The VMA's default protection is already write-protected while it is
    // registered for uffd-wp; un-protecting may make PTEs writable right
    // away where the VMA leaves that to us.
    if !enable_wp && vma.wants_manual_pte_write_upgrade() {
        cp_flags |= bindings::MM_CP_TRY_CHANGE_WRITABLE;
    }
    mm.change_protection(vma, start, end, cp_flags)
}

/// C: `uffd_wp_range()`, for the C callers (un-register resolves the
/// protection of the range it unregisters).
///
/// # Safety
///
/// `vma` must be a VMA whose mmap lock the caller holds.
#[no_mangle]
pub unsafe extern "C" fn uffd_wp_range(
    vma: *mut bindings::vm_area_struct,
    start: c_ulong,
    len: c_ulong,
    enable_wp: bool,
) -> c_long {
    // SAFETY: the caller holds the mmap lock, which keeps the VMA stable.
    let vma = unsafe { VmaRef::from_raw(vma) };
    // SAFETY: as above: the lock of the VMA's own address space.
    let mm = unsafe { MmapLocked::assume_locked(vma.mm_raw()) };
    let Some(end) = start.checked_add(len) else {
        return EINVAL.to_errno() as c_long;
    };
    match wp_range(mm, vma, start, end, enable_wp) {
        Ok(changed) => changed as c_long,
        Err(e) => e.to_errno() as c_long,
    }
}

// ---------------------------------------------------------------------------
// Which VMAs use markers, and fault-around
// ---------------------------------------------------------------------------

/// C: `userfaultfd_wp_unpopulated()`: whether the VMA's context asked for
/// markers in unpopulated anonymous memory (`UFFD_FEATURE_WP_UNPOPULATED`).
///
/// # Safety
///
/// The caller holds the VMA's mmap lock or its VMA lock.
#[no_mangle]
pub unsafe extern "C" fn userfaultfd_wp_unpopulated(vma: *mut bindings::vm_area_struct) -> bool {
    // SAFETY: the caller holds a lock that keeps the VMA stable.
    let vma = unsafe { VmaRef::from_raw(vma) };
    wp_unpopulated(vma)
}

fn wp_unpopulated(vma: &VmaRef) -> bool {
    vma.uffd_ctx()
        .is_some_and(|ctx| ctx.features() & bindings::UFFD_FEATURE_WP_UNPOPULATED != 0)
}

/// C: `userfaultfd_wp_use_markers()`: whether write-protecting a none PTE
/// of the VMA installs a marker.  File memory always does (its PTEs come
/// and go while the page stays); anonymous memory only with
/// `UFFD_FEATURE_WP_UNPOPULATED`.
///
/// # Safety
///
/// The caller holds the VMA's mmap lock or its VMA lock.
#[no_mangle]
pub unsafe extern "C" fn userfaultfd_wp_use_markers(vma: *mut bindings::vm_area_struct) -> bool {
    // SAFETY: the caller holds a lock that keeps the VMA stable.
    let vma = unsafe { VmaRef::from_raw(vma) };
    if !vma.uffd_modes().wp {
        return false;
    }
    !vma.is_anonymous() || wp_unpopulated(vma)
}

/// C: `uffd_disable_fault_around()`: no fault-around in ranges registered
/// for write-protect or minor faults.  It would map pages next to the
/// faulting one without a message: for minor faults that defeats the
/// registration, for write-protect it could map a page without its bit.
///
/// # Safety
///
/// The caller holds the VMA's mmap lock or its VMA lock.
#[no_mangle]
pub unsafe extern "C" fn uffd_disable_fault_around(vma: *mut bindings::vm_area_struct) -> bool {
    // SAFETY: the caller (the fault path) holds a lock that keeps the VMA
    // stable.
    let modes = unsafe { VmaRef::from_raw(vma) }.uffd_modes();
    modes.wp || modes.minor
}

// ---------------------------------------------------------------------------
// Zap: leave a marker where a protected PTE was
// ---------------------------------------------------------------------------

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

/// C: `pte_install_uffd_wp_if_needed()`: after `*pte` was cleared, put a
/// uffd-wp marker there if `pteval`, the PTE it held, was protected.
///
/// # Safety
///
/// `vma` must be kept alive by the caller's locks (mmap, VMA or rmap lock),
/// `pte` must be the PTE of `addr` in a mapped page table of `vma`, and the
/// caller must hold that table's lock.
#[no_mangle]
pub unsafe extern "C" fn pte_install_uffd_wp_if_needed(
    vma: *mut bindings::vm_area_struct,
    addr: c_ulong,
    pte: *mut bindings::pte_t,
    pteval: Pte,
) {
    // SAFETY: the caller's locks keep the VMA allocated and its bounds
    // stable.
    let vma = unsafe { VmaRmapRef::from_raw(vma) };
    // SAFETY: one PTE of a table of the VMA's mm, whose lock is held.
    let run = unsafe { PteRun::from_raw(vma.mm_raw(), addr, pte, 1) };
    install_uffd_wp_markers(vma, run, pteval);
}

/// The zap side of `zap_install_uffd_wp_if_needed()` (mm/memory.c): `nr`
/// PTEs from `pte` were cleared; `pteval` is what the first held (for a
/// batch they share their uffd-wp state).  The caller does not call it
/// when it drops file markers on purpose (`ZAP_FLAG_DROP_MARKER`: the VMA
/// goes away or is un-registered), the common case of munmap.
///
/// # Safety
///
/// `vma` must be kept alive by the caller's locks, `pte` must be the PTE
/// of `addr` in a mapped page table of `vma` with at least `nr` PTEs from
/// there on, and the caller must hold the table's lock.
#[no_mangle]
pub unsafe extern "C" fn zap_install_uffd_wp_markers(
    vma: *mut bindings::vm_area_struct,
    addr: c_ulong,
    pte: *mut bindings::pte_t,
    nr: c_int,
    pteval: Pte,
) {
    if nr <= 0 {
        return;
    }
    // SAFETY: the caller's locks keep the VMA allocated and its bounds
    // stable.
    let vma = unsafe { VmaRmapRef::from_raw(vma) };
    // SAFETY: `nr` PTEs of one table of the VMA's mm, whose lock is held.
    let run = unsafe { PteRun::from_raw(vma.mm_raw(), addr, pte, nr as usize) };
    install_uffd_wp_markers(vma, run, pteval);
}

fn install_uffd_wp_markers(vma: &VmaRmapRef, mut run: PteRun<'_>, pteval: Pte) {
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

// ---------------------------------------------------------------------------
// Fork
// ---------------------------------------------------------------------------

/// C: `copy_pte_marker()`: the marker fork puts in the child for the
/// source marker `entry`.  Poison is always copied (the data is lost in
/// the child too); the uffd-wp bit only when the child's VMA is registered
/// for write-protect (with `UFFD_FEATURE_EVENT_FORK`; otherwise fork
/// un-registers the child and its markers would be stale).  0: no marker.
///
/// # Safety
///
/// `dst_vma` must be the child's VMA, under the child's mmap write lock
/// (as fork holds it).
#[no_mangle]
pub unsafe extern "C" fn copy_pte_marker(
    entry: SwpEntry,
    dst_vma: *mut bindings::vm_area_struct,
) -> c_ulong {
    // SAFETY: fork holds the child's mmap lock, which keeps its VMA stable.
    let dst_vma = unsafe { VmaRef::from_raw(dst_vma) };
    let src = entry.pte_marker();
    let mut dst = src & PteMarker::POISONED;
    if src.contains(PteMarker::UFFD_WP) && dst_vma.uffd_modes().wp {
        dst = dst | PteMarker::UFFD_WP;
    }
    dst.bits() as c_ulong
}

// ---------------------------------------------------------------------------
// Faults on markers
// ---------------------------------------------------------------------------

// What the fault path does with a marker, as in include/linux/userfaultfd_rs.h.
const PTE_MARKER_FAULT_SIGBUS: c_int = 0;
const PTE_MARKER_FAULT_HWPOISON: c_int = 1;
const PTE_MARKER_FAULT_CLEAR: c_int = 2;
const PTE_MARKER_FAULT_MISSING: c_int = 3;
const PTE_MARKER_FAULT_EMPTY: c_int = 4;

/// C: the decisions of `handle_pte_marker()`: a fault on the marker PTE
/// `orig_pte` in `vma`.  Poison wins over uffd-wp (the data is gone).  A
/// uffd-wp marker is a missing fault that keeps the bit, or, left behind
/// in a VMA that is no longer registered for write-protect, is just
/// cleared.  A marker without bits is a bug: the caller warns.
///
/// # Safety
///
/// The caller (the fault path) holds the VMA's mmap lock or VMA lock.
#[no_mangle]
pub unsafe extern "C" fn pte_marker_fault_action(
    vma: *mut bindings::vm_area_struct,
    orig_pte: Pte,
) -> c_int {
    // SAFETY: the fault path holds a lock that keeps the VMA stable.
    let vma = unsafe { VmaRef::from_raw(vma) };
    let Some(marker) = orig_pte.marker() else {
        return PTE_MARKER_FAULT_SIGBUS;
    };
    if marker.is_empty() {
        return PTE_MARKER_FAULT_EMPTY;
    }
    if marker.contains(PteMarker::POISONED) {
        return PTE_MARKER_FAULT_HWPOISON;
    }
    if cfg!(CONFIG_PTE_MARKER_UFFD_WP) && marker.contains(PteMarker::UFFD_WP) {
        return if vma.uffd_modes().wp {
            PTE_MARKER_FAULT_MISSING
        } else {
            PTE_MARKER_FAULT_CLEAR
        };
    }
    PTE_MARKER_FAULT_SIGBUS
}

/// C: `vmf_orig_pte_uffd_wp()`: whether the page a fault maps must be
/// mapped write-protected because the PTE it replaces was a uffd-wp
/// marker (the fault saw it: `FAULT_FLAG_ORIG_PTE_VALID`).
///
/// # Safety
///
/// The caller (the fault path) holds the VMA's mmap lock or VMA lock.
#[no_mangle]
pub unsafe extern "C" fn uffd_fault_orig_pte_uffd_wp(
    vma: *mut bindings::vm_area_struct,
    fault_flags: c_uint,
    orig_pte: Pte,
) -> bool {
    // SAFETY: the fault path holds a lock that keeps the VMA stable.
    let vma = unsafe { VmaRef::from_raw(vma) };
    if !vma.uffd_modes().wp || fault_flags & bindings::fault_flag_FAULT_FLAG_ORIG_PTE_VALID == 0 {
        return false;
    }
    cfg!(CONFIG_PTE_MARKER_UFFD_WP)
        && orig_pte
            .marker()
            .is_some_and(|marker| marker.contains(PteMarker::UFFD_WP))
}
