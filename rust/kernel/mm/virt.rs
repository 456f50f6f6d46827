// SPDX-License-Identifier: GPL-2.0

//! Address spaces and VMAs, with the lock that makes each access sound.
//!
//! C headers: [`include/linux/mm.h`](srctree/include/linux/mm.h),
//! [`include/linux/mmap_lock.h`](srctree/include/linux/mmap_lock.h).
//!
//! The types encode who holds what:
//! - [`MmRef`]: a reference on an address space (`mm_users`), so it cannot
//!   be torn down while we use it.
//! - [`MmapReadGuard`]: the mmap lock held for reading; VMAs looked up
//!   through it borrow from it, so they cannot outlive the lock.
//! - [`VmaReadGuard`]: one VMA locked with its per-VMA lock (the page-fault
//!   fast path); dropping it releases the lock.
//! - [`VmaRef`]: a VMA that one of the two guards above keeps stable: its
//!   bounds, flags and ops cannot change while the reference lives.

use crate::{bindings, types::Opaque};
use core::{marker::PhantomData, ops::Deref, ptr::NonNull};

/// A reference on an address space (`struct mm_struct`) that keeps its
/// user count (`mm_users`) raised, so the page tables and VMAs stay.
///
/// # Invariants
///
/// `ptr` points at a valid `mm_struct` on which this value owns one
/// `mm_users` reference, dropped with `mmput()`.
pub struct MmRef {
    ptr: NonNull<bindings::mm_struct>,
}

// SAFETY: an `mm_users` reference may be taken in one thread and dropped in
// another (`mmput()` has no thread affinity), and the mm's own state is
// protected by its locks, which the guards below take.
unsafe impl Send for MmRef {}
// SAFETY: every method takes the lock it needs; `&MmRef` gives no unlocked
// access to the mm's state.
unsafe impl Sync for MmRef {}

impl MmRef {
    /// The address space of the current task, or `None` for a kernel
    /// thread or a task whose address space is gone (C: `get_task_mm()`).
    pub fn current() -> Option<Self> {
        // SAFETY: `get_current()` returns the running task, valid for the
        // duration of this call; `get_task_mm()` takes the task lock itself
        // and returns the mm with `mm_users` raised, or NULL.
        let mm = unsafe { bindings::get_task_mm(bindings::get_current()) };
        // INVARIANT: `get_task_mm()` raised `mm_users` for us.
        NonNull::new(mm).map(|ptr| Self { ptr })
    }

    /// The raw pointer, for C functions that take a `struct mm_struct *`.
    pub fn as_raw(&self) -> *mut bindings::mm_struct {
        self.ptr.as_ptr()
    }

    /// Takes the mmap lock for reading (C: `mmap_read_lock()`); it is
    /// released when the guard is dropped.
    pub fn mmap_read_lock(&self) -> MmapReadGuard<'_> {
        // SAFETY: the mm is valid by the type invariant.
        unsafe { bindings::mmap_read_lock(self.as_raw()) };
        // INVARIANT: the lock was just taken.
        MmapReadGuard {
            mm: self,
            _not_send: PhantomData,
        }
    }

    /// Locks the VMA at `addr` with its per-VMA read lock, without the mmap
    /// lock (C: `lock_vma_under_rcu()`).  `None` when there is no VMA there
    /// or the lock is contended: the caller falls back to
    /// [`MmRef::mmap_read_lock`].
    #[cfg(CONFIG_PER_VMA_LOCK)]
    pub fn lock_vma_under_rcu(&self, addr: usize) -> Option<VmaReadGuard<'_>> {
        // SAFETY: the mm is valid by the type invariant; the function takes
        // the RCU read lock itself and returns a read-locked VMA or NULL.
        let vma = unsafe { bindings::lock_vma_under_rcu(self.as_raw(), addr as _) };
        // INVARIANT: a non-NULL VMA comes back read-locked.
        NonNull::new(vma).map(|vma| VmaReadGuard {
            vma,
            _mm: PhantomData,
        })
    }
}

impl Drop for MmRef {
    fn drop(&mut self) {
        // SAFETY: by the type invariant we own one `mm_users` reference.
        unsafe { bindings::mmput(self.as_raw()) };
    }
}

/// The mmap lock of an address space, held for reading.
///
/// # Invariants
///
/// The mmap lock of `mm` is held for reading while this value exists, by
/// the task that created the value (the guard is not `Send`: a read lock is
/// released by the task that took it).
pub struct MmapReadGuard<'a> {
    mm: &'a MmRef,
    _not_send: PhantomData<*mut ()>,
}

impl MmapReadGuard<'_> {
    /// The VMA that contains `addr`, if any (C: `vma_lookup()`).  It borrows
    /// from the guard: it cannot be used after the lock is released.
    pub fn vma_lookup(&self, addr: usize) -> Option<&VmaRef> {
        // SAFETY: the mmap lock is held (type invariant), as `vma_lookup()`
        // requires.
        let vma = unsafe { bindings::vma_lookup(self.mm.as_raw(), addr as _) };
        if vma.is_null() {
            return None;
        }
        // SAFETY: `vma` is a VMA of this mm; the mmap read lock, held for
        // as long as `&self` is borrowed, keeps it from changing or going
        // away.
        Some(unsafe { VmaRef::from_raw(vma) })
    }
}

impl Drop for MmapReadGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: the lock is held by the type invariant, and released once.
        unsafe { bindings::mmap_read_unlock(self.mm.as_raw()) };
    }
}

/// A VMA locked with its per-VMA read lock.
///
/// # Invariants
///
/// `vma` is read-locked (C: `vma_start_read()` succeeded) while this value
/// exists, which keeps it valid and unchanged; its mm outlives `'a`.
pub struct VmaReadGuard<'a> {
    vma: NonNull<bindings::vm_area_struct>,
    _mm: PhantomData<&'a MmRef>,
}

impl Deref for VmaReadGuard<'_> {
    type Target = VmaRef;

    fn deref(&self) -> &VmaRef {
        // SAFETY: the VMA is read-locked for as long as the guard lives
        // (type invariant), and the reference cannot outlive the guard.
        unsafe { VmaRef::from_raw(self.vma.as_ptr()) }
    }
}

impl Drop for VmaReadGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: the VMA is read-locked (type invariant); unlocked once.
        unsafe { bindings::vma_end_read(self.vma.as_ptr()) };
    }
}

/// Which userfaultfd modes a VMA is registered with.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct UffdModes {
    /// `VM_UFFD_MISSING`.
    pub missing: bool,
    /// `VM_UFFD_WP`.
    pub wp: bool,
    /// `VM_UFFD_MINOR`.
    pub minor: bool,
}

/// A VMA (`struct vm_area_struct`) that is stable while the reference
/// lives.
///
/// # Invariants
///
/// Every `&VmaRef` refers to a VMA held by its mmap read lock or its
/// per-VMA read lock for the lifetime of the reference: its bounds, flags,
/// ops and file do not change.
#[repr(transparent)]
pub struct VmaRef {
    vma: Opaque<bindings::vm_area_struct>,
}

impl VmaRef {
    /// Makes a reference from a raw VMA pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a VMA that stays valid and unchanged for `'a`:
    /// its mm's mmap lock or its per-VMA lock is held for reading for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::vm_area_struct) -> &'a Self {
        // SAFETY: `VmaRef` is a transparent wrapper of `vm_area_struct`, and
        // the caller promises validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// The raw pointer, for C functions that take a VMA.
    pub fn as_raw(&self) -> *mut bindings::vm_area_struct {
        self.vma.get()
    }

    /// First address of the VMA (C: `vm_start`).
    pub fn start(&self) -> usize {
        // SAFETY: the VMA is stable by the type invariant.
        unsafe { (*self.as_raw()).__bindgen_anon_1.__bindgen_anon_1.vm_start }
    }

    /// One past the last address of the VMA (C: `vm_end`).
    pub fn end(&self) -> usize {
        // SAFETY: the VMA is stable by the type invariant.
        unsafe { (*self.as_raw()).__bindgen_anon_1.__bindgen_anon_1.vm_end }
    }

    /// Whether `[start, start + len)` lies inside the VMA.
    pub fn contains_range(&self, start: usize, len: usize) -> bool {
        match start.checked_add(len) {
            Some(end) => start >= self.start() && end <= self.end(),
            None => false,
        }
    }

    /// The VMA flags (C: `vm_flags`).
    pub fn flags(&self) -> usize {
        // SAFETY: the VMA is stable by the type invariant; `vm_flags` only
        // changes under the write locks we exclude.
        unsafe { (*self.as_raw()).__bindgen_anon_2.vm_flags }
    }

    /// C: `vma_is_anonymous()`: no `vm_ops`.
    pub fn is_anonymous(&self) -> bool {
        // SAFETY: the VMA is stable by the type invariant.
        unsafe { (*self.as_raw()).vm_ops.is_null() }
    }

    /// C: `vma_is_shmem()`.
    pub fn is_shmem(&self) -> bool {
        // SAFETY: the VMA is valid and stable (type invariant).
        unsafe { bindings::vma_is_shmem(self.as_raw()) }
    }

    /// C: `is_vm_hugetlb_page()`.
    pub fn is_hugetlb(&self) -> bool {
        self.flags() & bindings::VM_HUGETLB as usize != 0
    }

    /// `VM_SHARED`: writes reach the backing object (a shared mapping).
    pub fn is_shared(&self) -> bool {
        self.flags() & bindings::VM_SHARED as usize != 0
    }

    /// The userfaultfd modes the VMA is registered with.
    pub fn uffd_modes(&self) -> UffdModes {
        let flags = self.flags();
        UffdModes {
            missing: flags & bindings::VM_UFFD_MISSING as usize != 0,
            wp: flags & bindings::VM_UFFD_WP as usize != 0,
            minor: flags & bindings::VM_UFFD_MINOR != 0,
        }
    }
}
