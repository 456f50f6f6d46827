// SPDX-License-Identifier: GPL-2.0

//! Memory-management abstractions for the Rust userfaultfd implementation.
//!
//! C headers: [`include/linux/mm.h`](srctree/include/linux/mm.h),
//! [`include/linux/sched/mm.h`](srctree/include/linux/sched/mm.h),
//! [`include/linux/swapops.h`](srctree/include/linux/swapops.h).
//!
//! This is the layer where `unsafe` lives: the userfaultfd logic in
//! `mm/userfaultfd_rs/` is safe Rust over the types defined here.  The
//! names follow upstream's later Rust mm types (`Mm`, `MmWithUser`,
//! `VmaRef`, `as_ptr`, `flags`), so that moving onto them is a rename.
//!
//! - this file: an address space, borrowed ([`Mm`]) or with its users
//!   count raised ([`MmWithUser`], held as `ARef<MmWithUser>`);
//! - [`virt`]: VMAs under the mmap lock or their per-VMA lock, their flags
//!   and kinds ([`virt::ShmemVma`], [`hugetlb::HugetlbVma`]);
//! - [`pgtable`]: a PTE table mapped and locked; PTEs whose lock a C
//!   caller holds;
//! - [`pte`]: PTE, swap entry and PTE marker values; [`swp_layout`]: the
//!   marker encoding as pure integer logic (also built for the host);
//! - [`folio`]: folio references; [`shmem`] and [`hugetlb`]: what the
//!   userfaultfd fill needs of those two file systems;
//! - [`uffd`]: a userfaultfd context and the ioctl argument types;
//! - `arch`: the architecture seam (inline x86-64 fast paths, C helpers
//!   elsewhere), chosen once here rather than inside method bodies.
//!
//! C is reached through two kinds of functions.  A `rust_helper_*` in
//! `rust/helpers/` wraps one inline C function or macro one to one and
//! keeps its name (bindgen strips the prefix).  A `uffd_rs_*` shim in
//! `mm/userfaultfd_rs/shim.c` does a step that needs several C calls,
//! internal headers or a C stack frame; each says why it exists.

mod arch;
pub mod folio;
pub mod hugetlb;
pub mod pgtable;
pub mod pte;
pub mod shmem;
pub mod swp_layout;
pub mod uffd;
pub mod virt;

use crate::{
    bindings,
    types::{ARef, AlwaysRefCounted, Opaque},
};
use core::{ops::Deref, ptr::NonNull};
use virt::{MmapReadGuard, VmaReadGuard};

/// An address space (`struct mm_struct`), borrowed.
///
/// The borrow keeps the `mm_struct` allocated (someone holds `mm_count`),
/// not its VMAs and page tables: for those, [`Mm::mmget_not_zero`].
///
/// # Invariants
///
/// Every `&Mm` points at an `mm_struct` whose `mm_count` is raised for the
/// lifetime of the borrow.
#[repr(transparent)]
pub struct Mm {
    mm: Opaque<bindings::mm_struct>,
}

// SAFETY: the fields this type reads are set when the mm is created and
// never change; everything else goes through locks.
unsafe impl Send for Mm {}
// SAFETY: as above.
unsafe impl Sync for Mm {}

impl Mm {
    /// Borrows the `mm_struct` at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point at an `mm_struct` whose `mm_count` stays raised
    /// for `'a`.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *const bindings::mm_struct) -> &'a Self {
        // SAFETY: `Mm` is a transparent wrapper of `mm_struct`, and the
        // caller keeps it allocated for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// The raw pointer, for C functions that take a `struct mm_struct *`.
    #[inline]
    pub fn as_ptr(&self) -> *mut bindings::mm_struct {
        self.mm.get()
    }

    /// `TASK_SIZE` of the address space: the end of user space, in bytes.
    #[inline]
    pub fn task_size(&self) -> u64 {
        // SAFETY: allocated (type invariant); `task_size` is set when the
        // mm is created and never changes.
        unsafe { (*self.as_ptr()).__bindgen_anon_1.task_size as u64 }
    }

    /// Raises the users count unless the address space is exiting (C:
    /// `mmget_not_zero()`).
    #[inline]
    pub fn mmget_not_zero(&self) -> Option<ARef<MmWithUser>> {
        // SAFETY: allocated (type invariant); raises `mm_users` only if it
        // is not zero, and says whether it did.
        if unsafe { bindings::mmget_not_zero(self.as_ptr()) } {
            // SAFETY: `mm_users` was raised for the new `ARef`.
            Some(unsafe { ARef::from_raw(NonNull::new_unchecked(self.as_ptr().cast())) })
        } else {
            None
        }
    }
}

/// An address space whose users count (`mm_users`) is raised, so that its
/// VMAs and page tables stay.
///
/// # Invariants
///
/// Every `&MmWithUser` points at an `mm_struct` whose `mm_users` is raised
/// for the lifetime of the borrow.
#[repr(transparent)]
pub struct MmWithUser {
    mm: Mm,
}

// SAFETY: `mm_users` references may be dropped from any task (`mmput()`);
// the mm's state is reached only under its locks.
unsafe impl Send for MmWithUser {}
// SAFETY: as above.
unsafe impl Sync for MmWithUser {}

// SAFETY: `mmget()` and `mmput()` raise and drop `mm_users`, which keeps
// the address space (and, through it, `mm_count`) alive while raised.
unsafe impl AlwaysRefCounted for MmWithUser {
    #[inline]
    fn inc_ref(&self) {
        // SAFETY: `mm_users` is raised by the type invariant, so raising it
        // once more is allowed.
        unsafe { bindings::mmget(self.as_ptr()) };
    }

    #[inline]
    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller gives up one `mm_users` reference.
        unsafe { bindings::mmput(obj.cast().as_ptr()) };
    }
}

impl Deref for MmWithUser {
    type Target = Mm;

    #[inline]
    fn deref(&self) -> &Mm {
        &self.mm
    }
}

impl MmWithUser {
    /// Borrows the `mm_struct` at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point at an `mm_struct` whose `mm_users` stays raised
    /// for `'a`.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *const bindings::mm_struct) -> &'a Self {
        // SAFETY: transparent wrapper; the caller keeps `mm_users` raised.
        unsafe { &*ptr.cast() }
    }

    /// The address space of the current task, or `None` for a kernel
    /// thread or a task whose address space is gone (C: `get_task_mm()`).
    #[inline]
    pub fn current() -> Option<ARef<Self>> {
        // SAFETY: `get_current()` is the running task, valid for the call;
        // `get_task_mm()` takes the task lock and returns the mm with
        // `mm_users` raised, or NULL.
        let mm = unsafe { bindings::get_task_mm(bindings::get_current()) };
        // SAFETY: `get_task_mm()` raised `mm_users` for the new `ARef`.
        NonNull::new(mm).map(|mm| unsafe { ARef::from_raw(mm.cast()) })
    }

    /// Takes the mmap lock for reading (C: `mmap_read_lock()`); it is
    /// released when the guard is dropped.
    #[inline]
    pub fn mmap_read_lock(&self) -> MmapReadGuard<'_> {
        // SAFETY: `mm_users` is raised (type invariant).
        unsafe { bindings::mmap_read_lock(self.as_ptr()) };
        // SAFETY: the lock was just taken, by the current task.
        unsafe { MmapReadGuard::new(self) }
    }

    /// Locks the VMA at `addr` with its per-VMA read lock, without the
    /// mmap lock (C: `lock_vma_under_rcu()`).  `None` when there is no VMA
    /// there or the lock is contended: fall back to the mmap lock.
    #[inline]
    pub fn lock_vma_under_rcu(&self, addr: usize) -> Option<VmaReadGuard<'_>> {
        // SAFETY: `mm_users` is raised (type invariant); the function takes
        // the RCU read lock itself and returns a read-locked VMA or NULL.
        let vma = unsafe { bindings::lock_vma_under_rcu(self.as_ptr(), addr as _) };
        // SAFETY: a VMA of this mm, read-locked for the new guard.
        NonNull::new(vma).map(|vma| unsafe { VmaReadGuard::new(vma) })
    }
}
