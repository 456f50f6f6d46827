// SPDX-License-Identifier: GPL-2.0

//! A userfaultfd context (`struct userfaultfd_ctx`).
//!
//! C header: [`include/linux/userfaultfd_k.h`](srctree/include/linux/userfaultfd_k.h).
//!
//! The context is created by `userfaultfd(2)` and lives as long as its file
//! and the VMAs registered with it.  The operations here are the ones the
//! resolution ioctls need: the non-cooperative `mmap_changing` state and the
//! lock that orders it against them, the features user space asked for, the
//! address space, and waking the faulting threads.

use super::virt::MmRef;
use crate::{
    bindings,
    error::{to_result, Result},
    types::Opaque,
};
use core::marker::PhantomData;

/// A userfaultfd context.
///
/// # Invariants
///
/// Every `&UffdCtx` refers to a live `userfaultfd_ctx` (its file or a VMA
/// registered with it holds a reference for the lifetime of the borrow).
/// The context holds `mm_count` on its `mm`, so the `mm_struct` itself
/// stays allocated (though not necessarily its address space).
#[repr(transparent)]
pub struct UffdCtx {
    ctx: Opaque<bindings::userfaultfd_ctx>,
}

impl UffdCtx {
    /// Makes a reference from a raw context pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a live `userfaultfd_ctx` that stays live for
    /// `'a` (the caller holds its file, or a lock that keeps a registered
    /// VMA, which holds a reference on it).
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::userfaultfd_ctx) -> &'a Self {
        // SAFETY: `UffdCtx` is a transparent wrapper of `userfaultfd_ctx`,
        // and the caller promises it is live for `'a`.
        unsafe { &*ptr.cast() }
    }

    #[inline]
    fn as_raw(&self) -> *mut bindings::userfaultfd_ctx {
        self.ctx.get()
    }

    /// The `UFFD_FEATURE_*` bits user space enabled with `UFFDIO_API`.
    #[inline]
    pub fn features(&self) -> u32 {
        // SAFETY: the context is live (type invariant).  `features` is
        // written once, by `UFFDIO_API`, before the context can be used
        // for anything else (the ioctls check it is initialized), so this
        // read of a word does not race with a write.
        unsafe { core::ptr::read_volatile(&(*self.as_raw()).features) }
    }

    /// Whether a non-cooperative event (fork, mremap, `MADV_DONTNEED`,
    /// unmap) is changing the mappings: resolution ioctls then fail with
    /// `EAGAIN` (C: `atomic_read(&ctx->mmap_changing)`).
    #[inline]
    pub fn mmap_changing(&self) -> bool {
        // SAFETY: the context is live (type invariant).  `atomic_read()` is
        // a `READ_ONCE()` of the counter: a volatile load of an aligned
        // int, done here without a call.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_raw()).mmap_changing.counter) != 0 }
    }

    /// `TASK_SIZE` of the context's address space: the end of user space.
    #[inline]
    pub fn task_size(&self) -> u64 {
        // SAFETY: the context is live and holds `mm_count` on `mm` (type
        // invariant), so the `mm_struct` is allocated; `mm` and
        // `task_size` are set when the mm is created and never change.
        unsafe { (*(*self.as_raw()).mm).__bindgen_anon_1.task_size as u64 }
    }

    /// A reference on the context's address space, unless it is exiting
    /// (C: `mmget_not_zero(ctx->mm)`).
    #[inline]
    pub fn mmget(&self) -> Option<MmRef> {
        // SAFETY: the context is live and holds `mm_count` on `mm`, so the
        // `mm_struct` is allocated (type invariant); `mm` never changes.
        let mm = unsafe { (*self.as_raw()).mm };
        // SAFETY: as above; `mmget_not_zero()` raises `mm_users` only if
        // it is not zero, and says whether it did.
        if unsafe { bindings::mmget_not_zero(mm) } {
            // SAFETY: `mm_users` was raised for the new value.
            Some(unsafe { MmRef::from_raw_owned(mm) })
        } else {
            None
        }
    }

    /// Takes `map_changing_lock` for reading: while it is held,
    /// [`UffdCtx::mmap_changing`] cannot become true (non-cooperative
    /// events raise it with the lock held for writing).
    #[inline]
    pub fn map_changing_read(&self) -> MapChangingReadGuard<'_> {
        // SAFETY: the context is live (type invariant); the lock was
        // initialized with the context.
        unsafe { bindings::down_read(&raw mut (*self.as_raw()).map_changing_lock) };
        // INVARIANT: the read lock was just taken.
        MapChangingReadGuard {
            ctx: self,
            _not_send: PhantomData,
        }
    }

    /// Wakes the threads waiting on a fault in `[start, start + len)`
    /// (C: `wake_userfault()`).
    #[inline]
    pub fn wake(&self, start: usize, len: usize) {
        // SAFETY: the context is live (type invariant).
        unsafe { bindings::userfaultfd_rs_wake(self.as_raw(), start as _, len as _) };
    }
}

/// Writes `value` to the `__s64` at user address `at` (C: `put_user()`),
/// as the ioctls write their result field: one store, no copy loop.
/// `EFAULT` if it cannot be written.
#[inline]
pub fn put_user_s64(at: usize, value: i64) -> Result {
    // SAFETY: `put_user()` checks that `at` is a user address and handles
    // a fault on it; it writes nothing else.
    to_result(unsafe { bindings::uffd_put_user_s64(value, at as *mut i64) })
}

/// The fill modes of `mfill_atomic()` (C: `enum mfill_atomic_mode`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MfillMode {
    /// Copy user data into new pages (`UFFDIO_COPY`).
    Copy,
    /// Map zero pages (`UFFDIO_ZEROPAGE`).
    Zeropage,
    /// Map the pages already in the page cache (`UFFDIO_CONTINUE`).
    Continue,
    /// Install poison markers (`UFFDIO_POISON`).
    Poison,
}

/// `map_changing_lock` of a userfaultfd context, held for reading.
///
/// # Invariants
///
/// The read lock is held by the current task while the value exists (it is
/// not `Send`: the task that took it releases it).
pub struct MapChangingReadGuard<'a> {
    ctx: &'a UffdCtx,
    _not_send: PhantomData<*mut ()>,
}

impl MapChangingReadGuard<'_> {
    /// Whether non-cooperative events are changing the mappings; it stays
    /// as it is while the guard lives.
    #[inline]
    pub fn mmap_changing(&self) -> bool {
        self.ctx.mmap_changing()
    }
}

impl Drop for MapChangingReadGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the read lock is held (type invariant), released once.
        unsafe { bindings::up_read(&raw mut (*self.ctx.as_raw()).map_changing_lock) };
    }
}

/// Gives the CPU to other tasks if this one has run long enough (C:
/// `cond_resched()`), then tells whether the current task is being killed
/// (C: `fatal_signal_pending(current)`).  Long loops over user ranges call
/// it once per step (one call where C inlines both) and stop early with
/// `EINTR` when it returns `true`.
#[inline]
pub fn cond_resched_fatal_signal_pending() -> bool {
    // SAFETY: no preconditions (in atomic context `cond_resched()` would be
    // a bug that `might_sleep()` reports, not a memory-safety issue); the
    // rest reads the current task's signal state.
    unsafe { bindings::uffd_cond_resched_fatal_signal_pending() }
}
