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

use super::{pgtable::PmdRef, pte::Pte, uffd::UffdCtx};
use crate::{
    bindings,
    error::{code::*, to_result, Result},
    types::Opaque,
};
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
    #[inline]
    pub fn current() -> Option<Self> {
        // SAFETY: `get_current()` returns the running task, valid for the
        // duration of this call; `get_task_mm()` takes the task lock itself
        // and returns the mm with `mm_users` raised, or NULL.
        let mm = unsafe { bindings::get_task_mm(bindings::get_current()) };
        // INVARIANT: `get_task_mm()` raised `mm_users` for us.
        NonNull::new(mm).map(|ptr| Self { ptr })
    }

    /// Takes over one `mm_users` reference on `mm`.
    ///
    /// # Safety
    ///
    /// `mm` must be a valid `mm_struct` on which the caller owns one
    /// `mm_users` reference, which the new value will drop.
    #[inline]
    pub unsafe fn from_raw_owned(mm: *mut bindings::mm_struct) -> Self {
        // INVARIANT: the caller passes us its reference.
        Self {
            // SAFETY: a valid `mm_struct` pointer is not NULL.
            ptr: unsafe { NonNull::new_unchecked(mm) },
        }
    }

    /// The raw pointer, for C functions that take a `struct mm_struct *`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::mm_struct {
        self.ptr.as_ptr()
    }

    /// Takes the mmap lock for reading (C: `mmap_read_lock()`); it is
    /// released when the guard is dropped.
    #[inline]
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
    #[inline]
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
    #[inline]
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
    #[inline]
    pub fn vma_lookup(&self, addr: usize) -> Option<&VmaRef> {
        self.locked().vma_lookup(addr)
    }

    /// The lock as a [`MmapLocked`] proof, for the operations that need
    /// the mmap lock held in either mode.
    #[inline]
    pub fn locked(&self) -> MmapLocked<'_> {
        // INVARIANT: the read lock is held while `self` is borrowed.
        MmapLocked {
            mm: self.mm.ptr,
            _lock: PhantomData,
        }
    }
}

/// Proof that the current task holds the mmap lock of an address space, for
/// reading or for writing, for `'a`.
///
/// [`MmapReadGuard::locked`] makes one from a lock we took; C entry points
/// called with the lock held make one with [`MmapLocked::assume_locked`].
///
/// # Invariants
///
/// The mmap lock of `mm` is held by the current task for `'a`, which keeps
/// `mm`, its VMAs and its upper page-table levels in place.
#[derive(Clone, Copy)]
pub struct MmapLocked<'a> {
    mm: NonNull<bindings::mm_struct>,
    _lock: PhantomData<(&'a (), *mut ())>,
}

impl<'a> MmapLocked<'a> {
    /// Records that the caller holds the mmap lock of `mm`.
    ///
    /// # Safety
    ///
    /// `mm` must be a valid address space whose mmap lock the current task
    /// holds (for reading or for writing) for `'a`.
    #[inline]
    pub unsafe fn assume_locked(mm: *mut bindings::mm_struct) -> Self {
        // INVARIANT: the caller holds the lock for `'a`.
        Self {
            // SAFETY: a valid `mm_struct` pointer is not NULL.
            mm: unsafe { NonNull::new_unchecked(mm) },
            _lock: PhantomData,
        }
    }

    /// The VMA that contains `addr`, if any (C: `vma_lookup()`).
    #[inline]
    pub fn vma_lookup(self, addr: usize) -> Option<&'a VmaRef> {
        // SAFETY: the mmap lock is held (type invariant), as `vma_lookup()`
        // requires.
        let vma = unsafe { bindings::vma_lookup(self.mm.as_ptr(), addr as _) };
        // SAFETY: a VMA of this mm, kept in place by the mmap lock for `'a`.
        NonNull::new(vma).map(|vma| unsafe { VmaRef::from_raw(vma.as_ptr()) })
    }

    /// Gives `vma`, a VMA of this mm, its anon_vma if it has none yet
    /// (C: `anon_vma_prepare()`); `ENOMEM` if that fails.
    #[inline]
    pub fn anon_vma_prepare(self, vma: &VmaRef) -> Result {
        if vma.mm_raw() != self.mm.as_ptr() {
            return Err(EINVAL);
        }
        // SAFETY: the mmap lock is held (type invariant), as
        // `anon_vma_prepare()` requires; it takes its own locks.
        to_result(unsafe { bindings::uffd_rs_anon_vma_prepare(vma.as_raw()) })
    }

    /// The VMAs that intersect `[start, end)`, in address order (C:
    /// `for_each_vma_range()`).  Holes between them are skipped.
    #[inline]
    pub fn vmas(self, start: usize, end: usize) -> VmaRangeIter<'a> {
        VmaRangeIter {
            mm: self,
            addr: start,
            end,
        }
    }

    /// Changes the protection of `[start, end)` in `vma` as `cp_flags`
    /// (`MM_CP_*`) say, flushing the TLB before returning (C:
    /// `change_protection()` between `tlb_gather_mmu()` and
    /// `tlb_finish_mmu()`).  Returns the number of PTEs changed.
    ///
    /// `EINVAL` if `vma` is not a VMA of this address space or the range
    /// is empty or not inside it.
    #[inline]
    pub fn change_protection(
        self,
        vma: &VmaRef,
        start: usize,
        end: usize,
        cp_flags: u32,
    ) -> Result<usize> {
        if vma.mm_raw() != self.mm.as_ptr()
            || start >= end
            || start < vma.start()
            || end > vma.end()
        {
            return Err(EINVAL);
        }
        // SAFETY: the mmap lock of the VMA's mm is held (type invariant),
        // which `change_protection()` requires, and the range lies in it.
        let ret = unsafe {
            bindings::uffd_rs_change_protection(vma.as_raw(), start as _, end as _, cp_flags as _)
        };
        to_result(if ret < 0 { ret as i32 } else { 0 })?;
        Ok(ret as usize)
    }
}

/// Iterator over the VMAs that intersect a range, under the mmap lock.
///
/// Each step looks the next VMA up afresh, from the end of the previous
/// one, so it ends after at most one step per VMA of the range.
pub struct VmaRangeIter<'a> {
    mm: MmapLocked<'a>,
    addr: usize,
    end: usize,
}

impl<'a> Iterator for VmaRangeIter<'a> {
    type Item = &'a VmaRef;

    #[inline]
    fn next(&mut self) -> Option<&'a VmaRef> {
        if self.addr >= self.end {
            return None;
        }
        // SAFETY: the mmap lock is held for `'a` (`MmapLocked` invariant).
        let vma = unsafe {
            bindings::find_vma_intersection(self.mm.mm.as_ptr(), self.addr as _, self.end as _)
        };
        if vma.is_null() {
            self.addr = self.end;
            return None;
        }
        // SAFETY: a VMA of this mm, kept in place by the mmap lock for `'a`.
        let vma = unsafe { VmaRef::from_raw(vma) };
        // A VMA that intersects [addr, end) ends after addr: progress.
        self.addr = vma.end();
        Some(vma)
    }
}

impl<'a> MmapReadGuard<'a> {
    /// Takes the per-VMA read lock of `vma`, a VMA of this mm, while the
    /// mmap lock excludes writers (so it cannot fail, unlike
    /// [`MmRef::lock_vma_under_rcu`]).  The VMA lock outlives the mmap
    /// lock: drop this guard and keep working under the VMA lock.
    #[inline]
    pub fn vma_read_lock(&self, vma: &VmaRef) -> Result<VmaReadGuard<'a>> {
        if vma.mm_raw() != self.mm.as_raw() {
            return Err(EINVAL);
        }
        // SAFETY: the mmap lock of the VMA's mm is held (type invariant),
        // which keeps the VMA alive and excludes `vma_start_write()`.
        unsafe { bindings::uffd_rs_vma_read_lock_mmap_locked(vma.as_raw()) };
        // INVARIANT: read-locked just now.
        Ok(VmaReadGuard {
            // SAFETY: a `&VmaRef` is not NULL.
            vma: unsafe { NonNull::new_unchecked(vma.as_raw()) },
            _mm: PhantomData,
        })
    }
}

impl Drop for MmapReadGuard<'_> {
    #[inline]
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

    #[inline]
    fn deref(&self) -> &VmaRef {
        // SAFETY: the VMA is read-locked for as long as the guard lives
        // (type invariant), and the reference cannot outlive the guard.
        unsafe { VmaRef::from_raw(self.vma.as_ptr()) }
    }
}

impl Drop for VmaReadGuard<'_> {
    #[inline]
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
/// Every `&VmaRef` refers to a VMA held by its mmap lock or its per-VMA
/// read lock for the lifetime of the reference: its bounds, flags, ops,
/// file and userfaultfd context do not change.
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
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::vm_area_struct) -> &'a Self {
        // SAFETY: `VmaRef` is a transparent wrapper of `vm_area_struct`, and
        // the caller promises validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// The raw pointer, for C functions that take a VMA.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::vm_area_struct {
        self.vma.get()
    }

    /// First address of the VMA (C: `vm_start`).
    #[inline]
    pub fn start(&self) -> usize {
        // SAFETY: the VMA is stable by the type invariant.
        unsafe { (*self.as_raw()).__bindgen_anon_1.__bindgen_anon_1.vm_start }
    }

    /// One past the last address of the VMA (C: `vm_end`).
    #[inline]
    pub fn end(&self) -> usize {
        // SAFETY: the VMA is stable by the type invariant.
        unsafe { (*self.as_raw()).__bindgen_anon_1.__bindgen_anon_1.vm_end }
    }

    /// Whether `[start, start + len)` lies inside the VMA.
    #[inline]
    pub fn contains_range(&self, start: usize, len: usize) -> bool {
        match start.checked_add(len) {
            Some(end) => start >= self.start() && end <= self.end(),
            None => false,
        }
    }

    /// The address space the VMA belongs to (C: `vm_mm`), as a raw
    /// pointer for comparisons and C calls.
    #[inline]
    pub fn mm_raw(&self) -> *mut bindings::mm_struct {
        // SAFETY: the VMA is stable by the type invariant; `vm_mm` never
        // changes.
        unsafe { (*self.as_raw()).vm_mm }
    }

    /// The VMA flags (C: `vm_flags`).
    #[inline]
    pub fn flags(&self) -> usize {
        // SAFETY: the VMA is stable by the type invariant; `vm_flags` only
        // changes under the write locks we exclude.
        unsafe { (*self.as_raw()).__bindgen_anon_2.vm_flags }
    }

    /// The userfaultfd context the VMA is registered with, if any (C:
    /// `vm_userfaultfd_ctx.ctx`).
    #[inline]
    pub fn uffd_ctx(&self) -> Option<&UffdCtx> {
        // SAFETY: the VMA is stable by the type invariant; the field changes
        // only under the mmap write lock, with the VMA write-locked.
        let ctx = unsafe { (*self.as_raw()).vm_userfaultfd_ctx.ctx };
        // SAFETY: a registered VMA holds a reference on its context, and
        // the VMA stays registered while `&self` lives (as above).
        NonNull::new(ctx).map(|ctx| unsafe { UffdCtx::from_raw(ctx.as_ptr()) })
    }

    /// C: `vma_wants_manual_pte_write_upgrade()`: whether making PTEs
    /// writable is left to whoever changes their protection (shared
    /// writable mappings, and private ones outside of NUMA hinting).
    #[inline]
    pub fn wants_manual_pte_write_upgrade(&self) -> bool {
        // SAFETY: the VMA is valid and stable (type invariant).
        unsafe { bindings::uffd_rs_vma_wants_manual_pte_write_upgrade(self.as_raw()) }
    }

    /// C: `vma_is_anonymous()`: no `vm_ops`.
    #[inline]
    pub fn is_anonymous(&self) -> bool {
        // SAFETY: the VMA is stable by the type invariant.
        unsafe { (*self.as_raw()).vm_ops.is_null() }
    }

    /// C: `vma_is_shmem()`.
    #[inline]
    pub fn is_shmem(&self) -> bool {
        // SAFETY: the VMA is valid and stable (type invariant).
        unsafe { bindings::vma_is_shmem(self.as_raw()) }
    }

    /// C: `is_vm_hugetlb_page()`.
    #[inline]
    pub fn is_hugetlb(&self) -> bool {
        self.flags() & bindings::VM_HUGETLB as usize != 0
    }

    /// `VM_SHARED`: writes reach the backing object (a shared mapping).
    #[inline]
    pub fn is_shared(&self) -> bool {
        self.flags() & bindings::VM_SHARED as usize != 0
    }

    /// The userfaultfd modes the VMA is registered with.
    #[inline]
    pub fn uffd_modes(&self) -> UffdModes {
        UffdModes::from_flags(self.flags())
    }

    /// `VM_WRITE`: the mapping may be written.
    #[inline]
    pub fn is_writable(&self) -> bool {
        self.flags() & bindings::VM_WRITE as usize != 0
    }

    /// Whether the VMA has its anon_vma (C: `vma->anon_vma`), which a
    /// private VMA needs before anonymous pages can be mapped in it.
    #[inline]
    pub fn has_anon_vma(&self) -> bool {
        // SAFETY: the VMA is stable (type invariant); `anon_vma` is set
        // once and then stays.
        !unsafe { (*self.as_raw()).anon_vma }.is_null()
    }

    /// Whether `addr` of a file VMA lies at or beyond the end of its file
    /// (always `false` for anonymous memory).
    #[inline]
    pub fn file_over_size(&self, addr: usize) -> bool {
        if !self.has_file() {
            return false;
        }
        #[cfg(CONFIG_X86_64)]
        {
            // What the C shim computes, without the call:
            // `linear_page_index(vma, addr)` against the file's size in
            // pages, rounded up.
            // SAFETY: the VMA is stable (type invariant) and has a file,
            // which it holds a reference on, and the file its inode.
            let (pgoff, size) = unsafe {
                let vma = self.as_raw();
                let inode = (*(*vma).vm_file).f_inode;
                // `i_size_read()` on 64-bit: `smp_load_acquire()`, which
                // on x86-64 is a load that the compiler must not move
                // later accesses before.
                let size = core::ptr::read_volatile(&raw const (*inode).i_size);
                core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::Acquire);
                let index = addr.wrapping_sub(self.start()) >> bindings::PAGE_SHIFT;
                (index.wrapping_add((*vma).vm_pgoff), size)
            };
            let pages = (size as u64).div_ceil(bindings::PAGE_SIZE as u64);
            pgoff as u64 >= pages
        }
        #[cfg(not(CONFIG_X86_64))]
        // SAFETY: the VMA is stable (type invariant) and has a file.
        unsafe {
            bindings::uffd_rs_file_over_size(self.as_raw(), addr as _)
        }
    }

    /// Allocates the page-table levels down to the PTE table of `addr`, a
    /// page of the VMA, and returns its PMD entry.  `ENOMEM`; `EEXIST` when
    /// a huge PMD maps the address; `EFAULT` for a corrupt PMD; `EINVAL`
    /// outside the VMA.
    #[inline]
    pub fn prepare_pte_table(&self, addr: usize) -> Result<PmdRef<'_>> {
        if addr < self.start() || addr >= self.end() {
            return Err(EINVAL);
        }
        let mut pmd = core::ptr::null_mut();
        // SAFETY: the VMA is locked (type invariant), which keeps the
        // page tables of its range from being freed; the allocators take
        // the page-table locks they need.
        to_result(unsafe {
            bindings::uffd_rs_prepare_pte_table(self.mm_raw(), addr as _, &mut pmd)
        })?;
        let pmd = NonNull::new(pmd).ok_or(EFAULT)?;
        // SAFETY: the PMD entry of `addr`, an address of this VMA (checked
        // above), in its mm's page tables; the VMA is locked while `&self`
        // is borrowed.
        Ok(unsafe { PmdRef::from_raw(pmd, addr, self) })
    }

    /// Whether the VMA maps a file (C: `vm_file`).
    #[inline]
    pub fn has_file(&self) -> bool {
        // SAFETY: the VMA is stable (type invariant).
        !unsafe { (*self.as_raw()).vm_file }.is_null()
    }

    /// The PTE of the shared zero page for `addr`, or `None` where this
    /// mm must not map it (C: `mm_forbids_zeropage()`).
    #[inline]
    pub fn zero_pte(&self, addr: usize) -> Option<Pte> {
        // SAFETY: the VMA is stable (type invariant); this computes a
        // value only.
        let pte = Pte::from_raw(unsafe { bindings::uffd_rs_zero_pte(self.as_raw(), addr as _) });
        if pte.is_none() {
            None
        } else {
            Some(pte)
        }
    }

    /// C: `vma_kernel_pagesize()`: the size of the pages that map the VMA
    /// (the huge page size for hugetlb).
    #[inline]
    pub fn kernel_pagesize(&self) -> usize {
        // SAFETY: the VMA is valid and stable (type invariant).
        unsafe { bindings::vma_kernel_pagesize(self.as_raw()) as usize }
    }
}

/// The zero-page PTEs of one locked VMA, for a loop over its pages (C
/// computes the PTE for each page in `mfill_atomic_pte_zeropage()`).  It
/// depends on the VMA's protection and mm, which do not change while the
/// VMA is locked, and on the address only on architectures with coloured
/// zero pages: elsewhere C is asked once.
pub struct ZeroPteCache<'a> {
    vma: &'a VmaRef,
    cached: Option<Option<Pte>>,
}

impl<'a> ZeroPteCache<'a> {
    /// An empty cache for `vma`, which stays locked while it is borrowed.
    #[inline]
    pub fn new(vma: &'a VmaRef) -> Self {
        Self { vma, cached: None }
    }

    /// [`VmaRef::zero_pte`] of `addr`, a page of the VMA.
    #[inline]
    pub fn get(&mut self, addr: usize) -> Option<Pte> {
        if bindings::UFFD_RS_ZERO_PTE_PER_ADDR != 0 {
            return self.vma.zero_pte(addr);
        }
        *self.cached.get_or_insert_with(|| self.vma.zero_pte(addr))
    }
}

impl UffdModes {
    /// The modes recorded in VMA flags `flags`.
    #[inline]
    pub fn from_flags(flags: usize) -> Self {
        Self {
            missing: flags & bindings::VM_UFFD_MISSING as usize != 0,
            wp: flags & bindings::VM_UFFD_WP as usize != 0,
            minor: flags & bindings::VM_UFFD_MINOR != 0,
        }
    }
}

/// A VMA seen by a reverse-map or truncation walker: code that reaches it
/// through its file or anon_vma, holding that rmap lock and a page-table
/// lock, but neither the mmap lock nor the VMA lock.
///
/// The VMA cannot go away or change bounds then, but its flags may change
/// under the mmap write lock; each query reads them once, as C does
/// (`READ_ONCE()`).  Whoever changes the userfaultfd state of the VMA
/// reconciles its PTEs under the page-table lock afterwards (un-register
/// resolves the write protection), so a stale answer is harmless.  The
/// userfaultfd context is not reachable from here: it may be freed.
///
/// # Invariants
///
/// Every `&VmaRmapRef` refers to a VMA kept allocated, with stable bounds
/// and file, by an rmap lock (or a stronger lock) for its lifetime.
#[repr(transparent)]
pub struct VmaRmapRef {
    vma: Opaque<bindings::vm_area_struct>,
}

impl VmaRmapRef {
    /// Makes a reference from a raw VMA pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a VMA kept allocated, with stable bounds and
    /// file, for `'a`: by the rmap lock of its mapping or anon_vma, by its
    /// mmap lock, or by its VMA lock.
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::vm_area_struct) -> &'a Self {
        // SAFETY: `VmaRmapRef` is a transparent wrapper of
        // `vm_area_struct`, and the caller promises validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    #[inline]
    fn as_raw(&self) -> *mut bindings::vm_area_struct {
        self.vma.get()
    }

    /// The address space the VMA belongs to (C: `vm_mm`, never changes).
    #[inline]
    pub fn mm_raw(&self) -> *mut bindings::mm_struct {
        // SAFETY: the VMA is allocated (type invariant); `vm_mm` is set at
        // creation and never changes.
        unsafe { (*self.as_raw()).vm_mm }
    }

    /// C: `vma_is_anonymous()`.
    #[inline]
    pub fn is_anonymous(&self) -> bool {
        // SAFETY: the VMA is allocated (type invariant); `vm_ops` is set
        // when the VMA is created and stays.
        unsafe { (*self.as_raw()).vm_ops.is_null() }
    }

    /// The userfaultfd modes, read once from the flags.
    #[inline]
    pub fn uffd_modes(&self) -> UffdModes {
        // SAFETY: the VMA is allocated (type invariant); the flags may be
        // written concurrently under the mmap write lock, so they are read
        // once, with a volatile load, as C's `READ_ONCE()`.
        let flags =
            unsafe { core::ptr::read_volatile(&(*self.as_raw()).__bindgen_anon_2.vm_flags) };
        UffdModes::from_flags(flags)
    }
}
