// SPDX-License-Identifier: GPL-2.0

//! The C seam: every function C calls, and nothing else.
//!
//! Each is a short shell: it turns C's raw arguments into the abstraction
//! types (`from_raw`, whose `// SAFETY:` relies on what the C caller holds,
//! stated in the function's `# Safety`), makes one safe call into the
//! logic modules, and turns the answer into C's (an errno, a count, a
//! `pte_t`).  This is the only module of the crate with `unsafe` code; the
//! others deny it.  [`c_prototypes!`] checks at build time that each
//! function has exactly the type of the C prototype bindgen sees, in
//! `include/linux/userfaultfd_rs.h` or where the C it replaces was
//! declared.

use crate::{fault, fill, hugetlb, marker, wp};
use kernel::bindings;
use kernel::ffi::{c_int, c_long, c_uint, c_ulong};
use kernel::mm::pgtable::PteRun;
use kernel::mm::pte::{Pte, SwpEntry};
use kernel::mm::uffd::UffdCtx;
use kernel::mm::virt::{MmapLocked, VmaRef, VmaRmapRef};
use kernel::prelude::*;
use kernel::uaccess::UserPtr;

/// Checks at build time that each named Rust function has the type of the
/// C prototype bindgen made for it: both arms of the `if` must coerce to
/// one function-pointer type, so any difference in a parameter or in the
/// return type fails to compile.
macro_rules! c_prototypes {
    ($($name:ident),+ $(,)?) => {
        $(
            const _: () = {
                let _ = if true { bindings::$name } else { $name };
            };
        )+
    };
}

c_prototypes!(
    userfaultfd_rs_init,
    userfaultfd_rs_copy,
    userfaultfd_rs_zeropage,
    userfaultfd_rs_continue,
    userfaultfd_rs_poison,
    userfaultfd_rs_writeprotect,
    make_pte_marker_entry,
    is_pte_marker_entry,
    pte_marker_get,
    is_pte_marker,
    make_pte_marker,
    make_poisoned_swp_entry,
    is_poisoned_swp_entry,
    pte_none_mostly,
    huge_pte_none_mostly,
    uffd_wp_range,
    userfaultfd_wp_unpopulated,
    userfaultfd_wp_use_markers,
    uffd_disable_fault_around,
    pte_install_uffd_wp_if_needed,
    userfaultfd_rs_zap_install_uffd_wp_markers,
    copy_pte_marker,
    userfaultfd_rs_pte_marker_fault_action,
    userfaultfd_rs_fault_orig_pte_uffd_wp,
    userfaultfd_rs_fault_reason,
    userfaultfd_rs_huge_pte_carry_uffd_wp,
    userfaultfd_rs_hugetlb_move_pte,
    userfaultfd_rs_hugetlb_zap_leaves_marker,
    userfaultfd_rs_hugetlb_refuses_cow,
    userfaultfd_rs_hugetlb_wp_fault_action,
    userfaultfd_rs_hugetlb_change_pte,
);

#[cfg(CONFIG_PTE_MARKER_UFFD_WP)]
c_prototypes!(pte_marker_entry_uffd_wp, pte_marker_uffd_wp);

#[cfg(CONFIG_USERFAULTFD_RUST_DEBUGFS)]
c_prototypes!(userfaultfd_rs_probe_pte);

/// 0 or the negative errno, as C's ioctl handlers return.
fn errno(ret: Result) -> c_int {
    match ret {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Called once from `userfaultfd_init()`: says in the kernel log which
/// implementation is in use.
#[no_mangle]
pub extern "C" fn userfaultfd_rs_init() {
    pr_info!("Rust implementation of the resolution paths enabled\n");
}

// ---- The ioctls (fs/userfaultfd.c dispatches) ----

macro_rules! ioctl_export {
    ($name:ident, $logic:path, $doc:literal) => {
        #[doc = $doc]
        ///
        /// # Safety
        ///
        /// `ctx` must be the context of the userfaultfd file the ioctl was
        /// made on, which keeps it live for the call.
        #[no_mangle]
        pub unsafe extern "C" fn $name(ctx: *mut bindings::userfaultfd_ctx, arg: c_ulong) -> c_int {
            // SAFETY: the caller's file holds the context for the call.
            let ctx = unsafe { UffdCtx::from_raw(ctx) };
            errno($logic(ctx, arg as UserPtr))
        }
    };
}

ioctl_export!(
    userfaultfd_rs_copy,
    fill::userfaultfd_copy,
    "`UFFDIO_COPY`."
);
ioctl_export!(
    userfaultfd_rs_zeropage,
    fill::userfaultfd_zeropage,
    "`UFFDIO_ZEROPAGE`."
);
ioctl_export!(
    userfaultfd_rs_continue,
    fill::userfaultfd_continue,
    "`UFFDIO_CONTINUE`."
);
ioctl_export!(
    userfaultfd_rs_poison,
    fill::userfaultfd_poison,
    "`UFFDIO_POISON`."
);
ioctl_export!(
    userfaultfd_rs_writeprotect,
    wp::userfaultfd_writeprotect,
    "`UFFDIO_WRITEPROTECT`."
);

// ---- The marker API of include/linux/swapops.h (pure values) ----

/// C: `make_pte_marker_entry()`.
#[no_mangle]
pub extern "C" fn make_pte_marker_entry(marker: bindings::pte_marker) -> bindings::swp_entry_t {
    marker::make_pte_marker_entry(marker as u64).into_raw()
}

/// C: `is_pte_marker_entry()`.
#[no_mangle]
pub extern "C" fn is_pte_marker_entry(entry: bindings::swp_entry_t) -> bool {
    SwpEntry::from_raw(entry).is_pte_marker()
}

/// C: `pte_marker_get()`.
#[no_mangle]
pub extern "C" fn pte_marker_get(entry: bindings::swp_entry_t) -> bindings::pte_marker {
    SwpEntry::from_raw(entry).pte_marker().bits() as bindings::pte_marker
}

/// C: `is_pte_marker()`.
#[no_mangle]
pub extern "C" fn is_pte_marker(pte: bindings::pte_t) -> bool {
    Pte::from_raw(pte).is_marker()
}

/// C: `make_pte_marker()`.
#[no_mangle]
pub extern "C" fn make_pte_marker(marker: bindings::pte_marker) -> bindings::pte_t {
    marker::make_pte_marker(marker as u64).into_raw()
}

/// C: `make_poisoned_swp_entry()`.
#[no_mangle]
pub extern "C" fn make_poisoned_swp_entry() -> bindings::swp_entry_t {
    SwpEntry::new_poisoned().into_raw()
}

/// C: `is_poisoned_swp_entry()`.
#[no_mangle]
pub extern "C" fn is_poisoned_swp_entry(entry: bindings::swp_entry_t) -> c_int {
    SwpEntry::from_raw(entry).is_poisoned().into()
}

/// C: `pte_none_mostly()`.
#[no_mangle]
pub extern "C" fn pte_none_mostly(pte: bindings::pte_t) -> c_int {
    Pte::from_raw(pte).is_none_mostly().into()
}

/// C: `huge_pte_none_mostly()`.
#[no_mangle]
pub extern "C" fn huge_pte_none_mostly(pte: bindings::pte_t) -> c_int {
    Pte::from_raw(pte).is_huge_none_mostly().into()
}

/// C: `pte_marker_entry_uffd_wp()`.
#[cfg(CONFIG_PTE_MARKER_UFFD_WP)]
#[no_mangle]
pub extern "C" fn pte_marker_entry_uffd_wp(entry: bindings::swp_entry_t) -> bool {
    marker::pte_marker_entry_uffd_wp(SwpEntry::from_raw(entry))
}

/// C: `pte_marker_uffd_wp()`.
#[cfg(CONFIG_PTE_MARKER_UFFD_WP)]
#[no_mangle]
pub extern "C" fn pte_marker_uffd_wp(pte: bindings::pte_t) -> bool {
    marker::pte_marker_uffd_wp(Pte::from_raw(pte))
}

// ---- Decisions of the generic mm code ----

/// C: `uffd_wp_range()`, for the C callers (un-register resolves the
/// protection of the range it unregisters): the number of PTEs changed,
/// or `-EINVAL` for a range that wraps or is not inside `vma`.
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
    let mm = unsafe { MmapLocked::assume_locked(vma.mm().as_ptr()) };
    let Some(end) = start.checked_add(len) else {
        return EINVAL.to_errno() as c_long;
    };
    match wp::uffd_wp_range(mm, vma, start, end, enable_wp) {
        Ok(changed) => changed as c_long,
        Err(e) => e.to_errno() as c_long,
    }
}

/// C: `userfaultfd_wp_unpopulated()`.
///
/// # Safety
///
/// The caller holds the VMA's mmap lock or its VMA lock.
#[no_mangle]
pub unsafe extern "C" fn userfaultfd_wp_unpopulated(vma: *mut bindings::vm_area_struct) -> bool {
    // SAFETY: the caller holds a lock that keeps the VMA stable.
    wp::userfaultfd_wp_unpopulated(unsafe { VmaRef::from_raw(vma) })
}

/// C: `userfaultfd_wp_use_markers()`.
///
/// # Safety
///
/// The caller holds the VMA's mmap lock or its VMA lock.
#[no_mangle]
pub unsafe extern "C" fn userfaultfd_wp_use_markers(vma: *mut bindings::vm_area_struct) -> bool {
    // SAFETY: the caller holds a lock that keeps the VMA stable.
    wp::userfaultfd_wp_use_markers(unsafe { VmaRef::from_raw(vma) })
}

/// C: `uffd_disable_fault_around()`.
///
/// # Safety
///
/// The caller (the fault path) holds the VMA's mmap lock or its VMA lock.
#[no_mangle]
pub unsafe extern "C" fn uffd_disable_fault_around(vma: *mut bindings::vm_area_struct) -> bool {
    // SAFETY: the caller holds a lock that keeps the VMA stable.
    fault::uffd_disable_fault_around(unsafe { VmaRef::from_raw(vma) })
}

/// C: `pte_install_uffd_wp_if_needed()`.
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
    pteval: bindings::pte_t,
) {
    // SAFETY: the caller's locks keep the VMA allocated and its bounds
    // stable.
    let vma = unsafe { VmaRmapRef::from_raw(vma) };
    // SAFETY: one PTE of a table of the VMA's mm, whose lock is held.
    let run = unsafe { PteRun::from_raw(vma.mm().as_ptr(), addr, pte, 1) };
    marker::pte_install_uffd_wp_if_needed(vma, run, Pte::from_raw(pteval));
}

/// C: the marker half of `zap_install_uffd_wp_if_needed()`; nothing for
/// `nr <= 0`.
///
/// # Safety
///
/// `vma` must be kept alive by the caller's locks, `pte` must be the PTE
/// of `addr` in a mapped page table of `vma` with at least `nr` PTEs from
/// there on, and the caller must hold the table's lock.
#[no_mangle]
pub unsafe extern "C" fn userfaultfd_rs_zap_install_uffd_wp_markers(
    vma: *mut bindings::vm_area_struct,
    addr: c_ulong,
    pte: *mut bindings::pte_t,
    nr: c_int,
    pteval: bindings::pte_t,
) {
    let Ok(nr) = usize::try_from(nr) else {
        return;
    };
    // SAFETY: the caller's locks keep the VMA allocated and its bounds
    // stable.
    let vma = unsafe { VmaRmapRef::from_raw(vma) };
    // SAFETY: `nr` PTEs of one table of the VMA's mm, whose lock is held.
    let run = unsafe { PteRun::from_raw(vma.mm().as_ptr(), addr, pte, nr) };
    marker::zap_install_uffd_wp_markers(vma, run, Pte::from_raw(pteval));
}

/// C: `copy_pte_marker()`: the child's marker bits, 0 for none.
///
/// # Safety
///
/// `dst_vma` must be the child's VMA, under the child's mmap write lock
/// (as fork holds it).
#[no_mangle]
pub unsafe extern "C" fn copy_pte_marker(
    entry: bindings::swp_entry_t,
    dst_vma: *mut bindings::vm_area_struct,
) -> bindings::pte_marker {
    // SAFETY: fork holds the child's mmap lock, which keeps its VMA stable.
    let dst_vma = unsafe { VmaRef::from_raw(dst_vma) };
    marker::copy_pte_marker(SwpEntry::from_raw(entry), dst_vma).bits() as bindings::pte_marker
}

/// C: the decisions of `handle_pte_marker()`: a `PTE_MARKER_FAULT_*`.
///
/// # Safety
///
/// The caller (the fault path) holds the VMA's mmap lock or VMA lock.
#[no_mangle]
pub unsafe extern "C" fn userfaultfd_rs_pte_marker_fault_action(
    vma: *mut bindings::vm_area_struct,
    orig_pte: bindings::pte_t,
) -> c_int {
    // SAFETY: the fault path holds a lock that keeps the VMA stable.
    let vma = unsafe { VmaRef::from_raw(vma) };
    fault::pte_marker_fault_action(vma, Pte::from_raw(orig_pte)) as c_int
}

/// C: `vmf_orig_pte_uffd_wp()`.
///
/// # Safety
///
/// The caller (the fault path) holds the VMA's mmap lock or VMA lock.
#[no_mangle]
pub unsafe extern "C" fn userfaultfd_rs_fault_orig_pte_uffd_wp(
    vma: *mut bindings::vm_area_struct,
    fault_flags: c_uint,
    orig_pte: bindings::pte_t,
) -> bool {
    // SAFETY: the fault path holds a lock that keeps the VMA stable.
    let vma = unsafe { VmaRef::from_raw(vma) };
    fault::uffd_fault_orig_pte_uffd_wp(vma, fault_flags, Pte::from_raw(orig_pte))
}

/// C: the hand-off of a page-cache fault to user space in
/// `shmem_get_folio_gfp()` and `hugetlb_no_page()`: `VM_UFFD_MINOR`,
/// `VM_UFFD_MISSING`, or 0.
///
/// # Safety
///
/// `vma` is NULL (no fault: a read or write through the file), or the
/// faulting VMA, whose mmap lock or VMA lock the caller holds.
#[no_mangle]
pub unsafe extern "C" fn userfaultfd_rs_fault_reason(
    vma: *mut bindings::vm_area_struct,
    in_cache: bool,
) -> c_ulong {
    // SAFETY: not NULL here, so the faulting VMA, which the fault path
    // keeps stable.
    let vma = (!vma.is_null()).then(|| unsafe { VmaRef::from_raw(vma) });
    fault::uffd_fault_reason(vma, in_cache) as c_ulong
}

// ---- hugetlb's decisions (mm/hugetlb.c) ----

/// C: the uffd-wp bit that a new huge entry `new` takes from `old` (the
/// no-page fault over a marker, the CoW copy, fork's copies): see
/// `hugetlb::huge_pte_carry_uffd_wp`.
///
/// # Safety
///
/// `vma` is NULL (carry the bit whatever the registration), or a VMA
/// whose mmap lock or VMA lock the caller holds.
#[no_mangle]
pub unsafe extern "C" fn userfaultfd_rs_huge_pte_carry_uffd_wp(
    vma: *mut bindings::vm_area_struct,
    old: bindings::pte_t,
    new: bindings::pte_t,
) -> bindings::pte_t {
    // SAFETY: not NULL here, so a VMA the caller's lock keeps stable.
    let vma = (!vma.is_null()).then(|| unsafe { VmaRef::from_raw(vma) });
    hugetlb::huge_pte_carry_uffd_wp(vma, Pte::from_raw(old), Pte::from_raw(new)).into_raw()
}

/// C: the uffd-wp part of `move_huge_pte()`: the entry to set at the new
/// address (none: clear it).
///
/// # Safety
///
/// `vma` must be the VMA being moved, under its mmap write lock.
#[no_mangle]
pub unsafe extern "C" fn userfaultfd_rs_hugetlb_move_pte(
    vma: *mut bindings::vm_area_struct,
    pte: bindings::pte_t,
) -> bindings::pte_t {
    // SAFETY: mremap holds the mmap write lock, which keeps the VMA stable.
    let vma = unsafe { VmaRef::from_raw(vma) };
    hugetlb::hugetlb_move_pte(vma, Pte::from_raw(pte)).into_raw()
}

/// C: the marker decision of `__unmap_hugepage_range()`: whether the
/// zapped entry `pte` leaves a uffd-wp marker.
#[no_mangle]
pub extern "C" fn userfaultfd_rs_hugetlb_zap_leaves_marker(
    pte: bindings::pte_t,
    zap_flags: bindings::zap_flags_t,
) -> bool {
    hugetlb::hugetlb_zap_leaves_marker(Pte::from_raw(pte), zap_flags)
}

/// C: the uffd-wp refusal at the start of `hugetlb_wp()`.
#[no_mangle]
pub extern "C" fn userfaultfd_rs_hugetlb_refuses_cow(pte: bindings::pte_t, unshare: bool) -> bool {
    hugetlb::hugetlb_refuses_cow(Pte::from_raw(pte), unshare)
}

/// C: the uffd-wp step of `hugetlb_fault()` on a present entry: a
/// `UFFD_RS_WP_FAULT_*`.
///
/// # Safety
///
/// The caller (the fault path) holds the VMA's mmap lock or VMA lock.
#[no_mangle]
pub unsafe extern "C" fn userfaultfd_rs_hugetlb_wp_fault_action(
    vma: *mut bindings::vm_area_struct,
    fault_flags: c_uint,
    pte: bindings::pte_t,
) -> c_int {
    // SAFETY: the fault path holds a lock that keeps the VMA stable.
    let vma = unsafe { VmaRef::from_raw(vma) };
    hugetlb::hugetlb_wp_fault_action(vma, fault_flags, Pte::from_raw(pte)) as c_int
}

/// C: the uffd-wp part of `hugetlb_change_protection()` for one entry
/// that is not hwpoison: the entry to set.
#[no_mangle]
pub extern "C" fn userfaultfd_rs_hugetlb_change_pte(
    pte: bindings::pte_t,
    cp_flags: c_ulong,
) -> bindings::pte_t {
    hugetlb::hugetlb_change_pte(Pte::from_raw(pte), cp_flags as u64).into_raw()
}

/// C: `userfaultfd_rs_probe_pte()`: a `UFFD_RS_PROBE_*` kind with the
/// marker bits from bit 8, or a negative errno.
#[cfg(CONFIG_USERFAULTFD_RUST_DEBUGFS)]
#[no_mangle]
pub extern "C" fn userfaultfd_rs_probe_pte(addr: c_ulong) -> c_long {
    match crate::probe::probe_pte(addr) {
        Ok(kind) => kind as c_long,
        Err(e) => e.to_errno() as c_long,
    }
}
