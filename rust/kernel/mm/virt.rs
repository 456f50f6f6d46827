// SPDX-License-Identifier: GPL-2.0

//! VMAs, with the lock that makes each access sound.
//!
//! C headers: [`include/linux/mm.h`](srctree/include/linux/mm.h),
//! [`include/linux/mmap_lock.h`](srctree/include/linux/mmap_lock.h).
//!
//! The types encode who holds what:
//! - [`MmapReadGuard`]: the mmap lock held for reading; VMAs looked up
//!   through it borrow from it, so they cannot outlive the lock.
//! - [`MmapLocked`]: proof that the mmap lock is held in either mode.
//! - [`VmaReadGuard`]: one VMA locked with its per-VMA lock (the page-fault
//!   fast path); dropping it releases the lock.
//! - [`VmaRef`]: a VMA that one of the locks above keeps stable: its
//!   bounds, flags and ops cannot change while the reference lives.  Its
//!   kinds, checked once: [`ShmemVma`] and `HugetlbVma`.
//! - [`VmaRmapRef`]: a VMA reached through a reverse map, under an rmap
//!   lock only.

use super::{pgtable::PmdRef, pte::Pte, uffd::UffdCtx, Mm, MmWithUser};
use crate::{
    bindings,
    error::{code::*, to_result, Result},
    types::Opaque,
};
use core::{marker::PhantomData, ops::Deref, ptr::NonNull};

/// The type of VMA flags (C: `vm_flags_t`).
#[allow(non_camel_case_types)]
pub type vm_flags_t = bindings::vm_flags_t;

/// The VMA flags this implementation reads (C: `VM_*`).
pub mod flags {
    use super::vm_flags_t;
    use crate::bindings;

    /// `VM_WRITE`: the mapping may be written.
    pub const WRITE: vm_flags_t = bindings::VM_WRITE as vm_flags_t;
    /// `VM_SHARED`: writes reach the backing object.
    pub const SHARED: vm_flags_t = bindings::VM_SHARED as vm_flags_t;
    /// `VM_HUGETLB`: a hugetlbfs mapping.
    pub const HUGETLB: vm_flags_t = bindings::VM_HUGETLB as vm_flags_t;
    /// `VM_UFFD_MISSING`: registered for missing faults.
    pub const UFFD_MISSING: vm_flags_t = bindings::VM_UFFD_MISSING as vm_flags_t;
    /// `VM_UFFD_WP`: registered for write-protect faults.
    pub const UFFD_WP: vm_flags_t = bindings::VM_UFFD_WP as vm_flags_t;
    /// `VM_UFFD_MINOR`: registered for minor faults.
    pub const UFFD_MINOR: vm_flags_t = bindings::VM_UFFD_MINOR as vm_flags_t;
}

/// The mmap lock of an address space, held for reading.
///
/// # Invariants
///
/// The mmap lock of `mm` is held for reading while this value exists, by
/// the task that created the value (the guard is not `Send`: a read lock is
/// released by the task that took it).
pub struct MmapReadGuard<'a> {
    mm: &'a MmWithUser,
    _not_send: PhantomData<*mut ()>,
}

impl<'a> MmapReadGuard<'a> {
    /// Records that the current task took the mmap lock of `mm` for
    /// reading; the guard releases it.
    ///
    /// # Safety
    ///
    /// The current task must hold the read lock, and no one else may
    /// release it.
    #[inline]
    pub(super) unsafe fn new(mm: &'a MmWithUser) -> Self {
        // INVARIANT: the caller took the lock.
        Self {
            mm,
            _not_send: PhantomData,
        }
    }

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
            // SAFETY: a reference is not NULL.
            mm: unsafe { NonNull::new_unchecked(self.mm.as_ptr()) },
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
        if vma.mm().as_ptr() != self.mm.as_ptr() {
            return Err(EINVAL);
        }
        // SAFETY: the mmap lock is held (type invariant), as
        // `anon_vma_prepare()` requires; it takes its own locks.
        if unsafe { bindings::anon_vma_prepare(vma.as_ptr()) } != 0 {
            return Err(ENOMEM);
        }
        Ok(())
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
        if vma.mm().as_ptr() != self.mm.as_ptr()
            || start >= end
            || start < vma.start()
            || end > vma.end()
        {
            return Err(EINVAL);
        }
        // SAFETY: the mmap lock of the VMA's mm is held (type invariant),
        // which `change_protection()` requires, and the range lies in it.
        let ret = unsafe {
            bindings::uffd_rs_change_protection(vma.as_ptr(), start as _, end as _, cp_flags as _)
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
    /// [`MmWithUser::lock_vma_under_rcu`]).  The VMA lock outlives the mmap
    /// lock: drop this guard and keep working under the VMA lock.
    #[inline]
    pub fn vma_read_lock(&self, vma: &VmaRef) -> Result<VmaReadGuard<'a>> {
        if vma.mm().as_ptr() != self.mm.as_ptr() {
            return Err(EINVAL);
        }
        // SAFETY: the mmap lock of the VMA's mm is held (type invariant),
        // which keeps the VMA alive and excludes `vma_start_write()`.
        unsafe { bindings::uffd_rs_vma_read_lock_mmap_locked(vma.as_ptr()) };
        // SAFETY: read-locked just now; a `&VmaRef` is not NULL.
        Ok(unsafe { VmaReadGuard::new(NonNull::new_unchecked(vma.as_ptr())) })
    }
}

impl Drop for MmapReadGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the lock is held by the type invariant, and released once.
        unsafe { bindings::mmap_read_unlock(self.mm.as_ptr()) };
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
    _mm: PhantomData<&'a MmWithUser>,
}

impl VmaReadGuard<'_> {
    /// Records that `vma` is read-locked; the guard unlocks it.
    ///
    /// # Safety
    ///
    /// `vma` must be read-locked by the current task (C:
    /// `vma_start_read()` or the equivalent under the mmap lock), and its
    /// mm must outlive the guard.
    #[inline]
    pub(super) unsafe fn new(vma: NonNull<bindings::vm_area_struct>) -> Self {
        // INVARIANT: the caller's promise.
        Self {
            vma,
            _mm: PhantomData,
        }
    }
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
    pub fn as_ptr(&self) -> *mut bindings::vm_area_struct {
        self.vma.get()
    }

    /// First address of the VMA (C: `vm_start`).
    #[inline]
    pub fn start(&self) -> usize {
        // SAFETY: the VMA is stable by the type invariant.
        unsafe { (*self.as_ptr()).__bindgen_anon_1.__bindgen_anon_1.vm_start }
    }

    /// One past the last address of the VMA (C: `vm_end`).
    #[inline]
    pub fn end(&self) -> usize {
        // SAFETY: the VMA is stable by the type invariant.
        unsafe { (*self.as_ptr()).__bindgen_anon_1.__bindgen_anon_1.vm_end }
    }

    /// The address space the VMA belongs to (C: `vm_mm`).
    #[inline]
    pub fn mm(&self) -> &MmWithUser {
        // SAFETY: the VMA is stable by the type invariant and `vm_mm` never
        // changes; a VMA is reachable under its locks only while its
        // address space has users.
        unsafe { MmWithUser::from_raw((*self.as_ptr()).vm_mm) }
    }

    /// The VMA flags (C: `vm_flags`); the bits are in [`flags`].
    #[inline]
    pub fn flags(&self) -> vm_flags_t {
        // SAFETY: the VMA is stable by the type invariant; `vm_flags` only
        // changes under the write locks we exclude.
        unsafe { (*self.as_ptr()).__bindgen_anon_2.vm_flags }
    }

    /// The userfaultfd context the VMA is registered with, if any (C:
    /// `vm_userfaultfd_ctx.ctx`).
    #[inline]
    pub fn uffd_ctx(&self) -> Option<&UffdCtx> {
        // SAFETY: the VMA is stable by the type invariant; the field changes
        // only under the mmap write lock, with the VMA write-locked.
        let ctx = unsafe { (*self.as_ptr()).vm_userfaultfd_ctx.ctx };
        // SAFETY: the VMA stays registered while `&self` lives (as
        // above), and a context outlives the VMAs registered with it: its
        // release clears every one (mmap write lock, VMA write lock)
        // before the last reference goes.
        NonNull::new(ctx).map(|ctx| unsafe { UffdCtx::from_raw(ctx.as_ptr()) })
    }

    /// C: `userfaultfd_wp_async()`: the VMA's context resolves
    /// write-protect faults itself (`UFFD_FEATURE_WP_ASYNC`), without a
    /// message.
    #[inline]
    pub fn userfaultfd_wp_async(&self) -> bool {
        // SAFETY: the VMA is stable (type invariant), so is its context.
        unsafe { bindings::userfaultfd_wp_async(self.as_ptr()) }
    }

    /// C: `vma_has_uffd_without_event_remap()`: registered with a context
    /// that did not ask for `UFFD_FEATURE_EVENT_REMAP`, so mremap cannot
    /// tell user space that the pages moved.
    #[inline]
    pub fn has_uffd_without_event_remap(&self) -> bool {
        self.uffd_ctx()
            .is_some_and(|ctx| ctx.features() & bindings::UFFD_FEATURE_EVENT_REMAP == 0)
    }

    /// C: `vma_wants_manual_pte_write_upgrade()`: whether making PTEs
    /// writable is left to whoever changes their protection (shared
    /// writable mappings, and private ones outside of NUMA hinting).
    #[inline]
    pub fn wants_manual_pte_write_upgrade(&self) -> bool {
        // SAFETY: the VMA is valid and stable (type invariant).
        unsafe { bindings::uffd_rs_vma_wants_manual_pte_write_upgrade(self.as_ptr()) }
    }

    /// C: `vma_is_anonymous()`: no `vm_ops`.
    #[inline]
    pub fn is_anonymous(&self) -> bool {
        // SAFETY: the VMA is stable by the type invariant.
        unsafe { (*self.as_ptr()).vm_ops.is_null() }
    }

    /// The VMA as a shmem VMA, if it is one (C: `vma_is_shmem()`): ask
    /// once, then keep the answer in the type.
    #[inline]
    pub fn as_shmem(&self) -> Option<&ShmemVma> {
        // SAFETY: the VMA is valid and stable (type invariant).
        if unsafe { bindings::vma_is_shmem(self.as_ptr()) } {
            // SAFETY: `ShmemVma` is a transparent wrapper of `VmaRef`, and
            // the VMA is shmem (checked above) for as long as it is stable.
            Some(unsafe { &*(self as *const Self).cast::<ShmemVma>() })
        } else {
            None
        }
    }

    /// C: `is_vm_hugetlb_page()`.
    #[inline]
    pub fn is_hugetlb(&self) -> bool {
        self.flags() & flags::HUGETLB != 0
    }

    /// `VM_SHARED`: writes reach the backing object (a shared mapping).
    #[inline]
    pub fn is_shared(&self) -> bool {
        self.flags() & flags::SHARED != 0
    }

    /// The userfaultfd modes the VMA is registered with.
    #[inline]
    pub fn uffd_modes(&self) -> UffdModes {
        UffdModes::from_flags(self.flags())
    }

    /// Whether the VMA has its anon_vma (C: `vma->anon_vma`), which a
    /// private VMA needs before anonymous pages can be mapped in it.
    #[inline]
    pub fn has_anon_vma(&self) -> bool {
        // SAFETY: the VMA is stable (type invariant); `anon_vma` is set
        // once and then stays.
        !unsafe { (*self.as_ptr()).anon_vma }.is_null()
    }

    /// The VMA's offset in its file, in base pages (C: `vm_pgoff`).
    #[inline]
    pub fn pgoff(&self) -> usize {
        // SAFETY: the VMA is stable (type invariant).
        unsafe { (*self.as_ptr()).vm_pgoff }
    }

    /// The size of the VMA's file in bytes (C: `i_size_read()`), or `None`
    /// for anonymous memory.
    #[inline]
    pub fn file_size(&self) -> Option<i64> {
        // SAFETY: the VMA is stable (type invariant); it holds a reference
        // on its file, and the file on its inode.
        unsafe {
            let file = (*self.as_ptr()).vm_file;
            if file.is_null() {
                return None;
            }
            Some(super::arch::i_size_read((*file).f_inode))
        }
    }

    /// Whether `addr` of a file VMA lies at or beyond the end of its file
    /// (C: `mfill_file_over_size()`); always `false` for anonymous memory.
    #[inline]
    pub fn file_over_size(&self, addr: usize) -> bool {
        // SAFETY: the VMA is stable (type invariant); it holds a reference
        // on its file, and the file on its inode.
        let (pgoff, size) = unsafe {
            let vma = self.as_ptr();
            let file = (*vma).vm_file;
            if file.is_null() {
                return false;
            }
            ((*vma).vm_pgoff, super::arch::i_size_read((*file).f_inode))
        };
        // C: `linear_page_index()` (not hugetlb: hugetlb never asks).
        let index = (addr.wrapping_sub(self.start()) >> bindings::PAGE_SHIFT).wrapping_add(pgoff);
        index as u64 >= (size as u64).div_ceil(bindings::PAGE_SIZE as u64)
    }

    /// Allocates the page-table levels down to the PTE table of `addr`, a
    /// page of the VMA, and returns its PMD entry.  `ENOMEM`; `EEXIST` when
    /// a huge PMD maps the address; `EFAULT` for a corrupt PMD; `EINVAL`
    /// outside the VMA or in a hugetlb VMA.
    #[inline]
    pub fn prepare_pte_table(&self, addr: usize) -> Result<PmdRef<'_>> {
        // Hugetlb entries live at other levels, under hugetlb's own locks.
        if addr < self.start() || addr >= self.end() || self.is_hugetlb() {
            return Err(EINVAL);
        }
        let mut pmd = core::ptr::null_mut();
        // SAFETY: the VMA is locked (type invariant), which keeps the
        // page tables of its range from being freed; the allocators take
        // the page-table locks they need.
        to_result(unsafe {
            bindings::uffd_rs_prepare_pte_table(self.mm().as_ptr(), addr as _, &mut pmd)
        })?;
        let pmd = NonNull::new(pmd).ok_or(EFAULT)?;
        // SAFETY: the PMD entry of `addr`, an address of this VMA (checked
        // above), in its mm's page tables; the VMA is locked while `&self`
        // is borrowed.
        Ok(unsafe { PmdRef::from_raw(pmd, addr, self) })
    }

    /// The PTE of the shared zero page for `addr`, or `None` where this
    /// mm must not map it (C: `mm_forbids_zeropage()`).
    #[inline]
    pub fn zero_pte(&self, addr: usize) -> Option<Pte> {
        // SAFETY: the VMA is stable (type invariant); this computes a
        // value only.
        let pte = Pte::from_raw(unsafe { bindings::uffd_rs_zero_pte(self.as_ptr(), addr as _) });
        if pte.is_none() {
            None
        } else {
            Some(pte)
        }
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
    pub fn from_flags(vm_flags: vm_flags_t) -> Self {
        Self {
            missing: vm_flags & flags::UFFD_MISSING != 0,
            wp: vm_flags & flags::UFFD_WP != 0,
            minor: vm_flags & flags::UFFD_MINOR != 0,
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
    fn as_ptr(&self) -> *mut bindings::vm_area_struct {
        self.vma.get()
    }

    /// The address space the VMA belongs to (C: `vm_mm`, never changes).
    #[inline]
    pub fn mm(&self) -> &Mm {
        // SAFETY: the VMA is allocated (type invariant), and a VMA keeps
        // its `mm_struct` allocated; `vm_mm` never changes.
        unsafe { Mm::from_raw((*self.as_ptr()).vm_mm) }
    }

    /// C: `vma_is_anonymous()`.
    #[inline]
    pub fn is_anonymous(&self) -> bool {
        // SAFETY: the VMA is allocated (type invariant); `vm_ops` is set
        // when the VMA is created and stays.
        unsafe { (*self.as_ptr()).vm_ops.is_null() }
    }

    /// The userfaultfd modes, read once from the flags.
    #[inline]
    pub fn uffd_modes(&self) -> UffdModes {
        // SAFETY: the VMA is allocated (type invariant); the flags may be
        // written concurrently under the mmap write lock, so they are read
        // once, with a volatile load, as C's `READ_ONCE()`.
        let flags =
            unsafe { core::ptr::read_volatile(&(*self.as_ptr()).__bindgen_anon_2.vm_flags) };
        UffdModes::from_flags(flags)
    }
}

/// A shmem VMA: a [`VmaRef`] known to map a shmem file (anonymous shared
/// memory included).  Made by [`VmaRef::as_shmem`]; what the fill does
/// with shmem pages is in [`super::shmem`].
///
/// # Invariants
///
/// The VMA is a shmem VMA (C: `vma_is_shmem()`), stable as [`VmaRef`]
/// says.
#[repr(transparent)]
pub struct ShmemVma {
    vma: VmaRef,
}

impl Deref for ShmemVma {
    type Target = VmaRef;

    #[inline]
    fn deref(&self) -> &VmaRef {
        &self.vma
    }
}
