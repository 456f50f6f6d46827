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

use super::Mm;
use crate::{
    bindings,
    error::{code::*, Result},
    types::{FromBytes, Opaque},
    uaccess::{UserPtr, UserSlice},
};
use core::{marker::PhantomData, mem::size_of};

/// A userfaultfd context.
///
/// # Invariants
///
/// Every `&UffdCtx` refers to a live `userfaultfd_ctx` for the lifetime of
/// the borrow: its file is held, or a VMA registered with it is locked (a
/// context's release un-registers every VMA before the last reference
/// goes).
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
    /// `'a` (the caller holds its file, or a lock that keeps a VMA
    /// registered with it).
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::userfaultfd_ctx) -> &'a Self {
        // SAFETY: `UffdCtx` is a transparent wrapper of `userfaultfd_ctx`,
        // and the caller promises it is live for `'a`.
        unsafe { &*ptr.cast() }
    }

    #[inline]
    fn as_ptr(&self) -> *mut bindings::userfaultfd_ctx {
        self.ctx.get()
    }

    /// The `UFFD_FEATURE_*` bits user space enabled with `UFFDIO_API`.
    #[inline]
    pub fn features(&self) -> u32 {
        // SAFETY: the context is live (type invariant).  `features` is
        // written once, by `UFFDIO_API`, before the context can be used
        // for anything else (the ioctls check it is initialized), so this
        // read of a word does not race with a write.
        unsafe { core::ptr::read_volatile(&(*self.as_ptr()).features) }
    }

    /// Whether a non-cooperative event (fork, mremap, `MADV_DONTNEED`,
    /// unmap) is changing the mappings: resolution ioctls then fail with
    /// `EAGAIN` (C: `atomic_read(&ctx->mmap_changing)`).
    #[inline]
    pub fn mmap_changing(&self) -> bool {
        // SAFETY: the context is live (type invariant).  `atomic_read()` is
        // a `READ_ONCE()` of the counter: a volatile load of an aligned
        // int, done here without a call.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_ptr()).mmap_changing.counter) != 0 }
    }

    /// The context's address space (C: `ctx->mm`), which the context keeps
    /// allocated (not necessarily with users: [`Mm::mmget_not_zero`]).
    #[inline]
    pub fn mm(&self) -> &Mm {
        // SAFETY: the context is live and holds `mm_count` on `mm` (type
        // invariant); `mm` is set at creation and never changes.
        unsafe { Mm::from_raw((*self.as_ptr()).mm) }
    }

    /// Takes `map_changing_lock` for reading: while it is held,
    /// [`UffdCtx::mmap_changing`] cannot become true (non-cooperative
    /// events raise it with the lock held for writing).
    #[inline]
    pub fn map_changing_read(&self) -> MapChangingReadGuard<'_> {
        // SAFETY: the context is live (type invariant); the lock was
        // initialized with the context.
        unsafe { bindings::down_read(&raw mut (*self.as_ptr()).map_changing_lock) };
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
        unsafe { bindings::uffd_rs_wake(self.as_ptr(), start as _, len as _) };
    }
}

/// Writes `value` to the `__s64` at user address `at` (C: `put_user()`),
/// as the ioctls write their result field: one store, no copy loop.
/// `EFAULT` if it cannot be written.
#[inline]
pub fn put_user_s64(at: UserPtr, value: i64) -> Result {
    // SAFETY: `put_user()` checks that `at` is a user address and handles
    // a fault on it; it writes nothing else.
    let ret = unsafe { bindings::uffd_rs_put_user_s64(value, at as *mut i64) };
    // `put_user()` gives 0 or `-EFAULT`, nothing else.
    if ret == 0 {
        Ok(())
    } else {
        Err(EFAULT)
    }
}

/// The fill modes of `mfill_atomic()` (C: `enum mfill_atomic_mode`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum MfillMode {
    /// Copy user data into new pages (`UFFDIO_COPY`).
    Copy = bindings::mfill_atomic_mode_MFILL_ATOMIC_COPY,
    /// Map zero pages (`UFFDIO_ZEROPAGE`).
    Zeropage = bindings::mfill_atomic_mode_MFILL_ATOMIC_ZEROPAGE,
    /// Map the pages already in the page cache (`UFFDIO_CONTINUE`).
    Continue = bindings::mfill_atomic_mode_MFILL_ATOMIC_CONTINUE,
    /// Install poison markers (`UFFDIO_POISON`).
    Poison = bindings::mfill_atomic_mode_MFILL_ATOMIC_POISON,
}

/// The flags word of a fill (C: `uffd_flags_t`): the mode, and
/// `MFILL_ATOMIC_WP`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MfillFlags(bindings::uffd_flags_t);

impl MfillFlags {
    /// The flags of a fill in `mode`, mapping write-protected if `wp`
    /// (C: `uffd_flags_set_mode()`).
    #[inline]
    pub const fn new(mode: MfillMode, wp: bool) -> Self {
        let wp = if wp { bindings::MFILL_ATOMIC_WP } else { 0 };
        Self(mode as bindings::uffd_flags_t | wp)
    }

    /// The mode.
    #[inline]
    pub const fn mode(self) -> MfillMode {
        match self.0 & !bindings::MFILL_ATOMIC_WP {
            bindings::mfill_atomic_mode_MFILL_ATOMIC_COPY => MfillMode::Copy,
            bindings::mfill_atomic_mode_MFILL_ATOMIC_ZEROPAGE => MfillMode::Zeropage,
            bindings::mfill_atomic_mode_MFILL_ATOMIC_CONTINUE => MfillMode::Continue,
            _ => MfillMode::Poison,
        }
    }

    /// Whether the pages are mapped write-protected (`MFILL_ATOMIC_WP`).
    #[inline]
    pub const fn wp(self) -> bool {
        self.0 & bindings::MFILL_ATOMIC_WP != 0
    }

    /// The word, for C.
    #[inline]
    pub const fn bits(self) -> bindings::uffd_flags_t {
        self.0
    }
}

/// The argument of a userfaultfd ioctl: the input fields of a
/// `struct uffdio_*`, read from user space in one copy and used by name.
///
/// Each type has the input fields of its bindgen struct, at the same
/// offsets (checked at build time), and stops where the struct's result
/// field starts: C reads only the input fields, so a result field that
/// cannot be read does not fail the call before the fill.  The result
/// field is written back at [`UffdioArg::result_ptr`].
pub trait UffdioArg: FromBytes + Sized {
    /// The number of bytes of input fields (the whole struct when it has
    /// no result field).
    const INPUT_LEN: usize = size_of::<Self>();

    /// Reads the input fields from user address `arg` (C:
    /// `copy_from_user()`); `EFAULT` if any byte is unreadable.
    #[inline]
    fn read(arg: UserPtr) -> Result<Self> {
        UserSlice::new(arg, Self::INPUT_LEN).reader().read::<Self>()
    }

    /// The user address of the result field of the struct at `arg`;
    /// `EFAULT` where it would wrap around (`put_user()` would fail).
    #[inline]
    fn result_ptr(arg: UserPtr) -> Result<UserPtr> {
        arg.checked_add(Self::INPUT_LEN).ok_or(EFAULT)
    }
}

macro_rules! uffdio_arg {
    (
        $(#[$doc:meta])*
        $name:ident of $c:ident { $($field:ident: $ty:ty),+ $(,)? } ends at $end:expr
    ) => {
        $(#[$doc])*
        #[repr(C)]
        pub struct $name {
            $(
                #[doc = concat!("`", stringify!($field), "`.")]
                pub $field: $ty,
            )+
        }

        // SAFETY: `$name` is `repr(C)` with only integer fields (a
        // `uffdio_range` is two `__u64`) and, as checked below, no padding:
        // any bytes are a valid value.
        unsafe impl FromBytes for $name {}

        // The fields are the bindgen struct's, at its offsets, up to `$end`.
        const _: () = {
            $(
                assert!(
                    core::mem::offset_of!($name, $field)
                        == core::mem::offset_of!(bindings::$c, $field)
                );
            )+
            assert!(size_of::<$name>() == $end);
            assert!(size_of::<$name>() == 0 $(+ size_of::<$ty>())+);
        };

        impl UffdioArg for $name {}
    };
}

uffdio_arg!(
    /// `struct uffdio_copy` up to its result field `copy`.
    UffdioCopy of uffdio_copy {
        dst: u64,
        src: u64,
        len: u64,
        mode: u64,
    } ends at core::mem::offset_of!(bindings::uffdio_copy, copy)
);
uffdio_arg!(
    /// `struct uffdio_zeropage` up to its result field `zeropage`.
    UffdioZeropage of uffdio_zeropage {
        range: bindings::uffdio_range,
        mode: u64,
    } ends at core::mem::offset_of!(bindings::uffdio_zeropage, zeropage)
);
uffdio_arg!(
    /// `struct uffdio_continue` up to its result field `mapped`.
    UffdioContinue of uffdio_continue {
        range: bindings::uffdio_range,
        mode: u64,
    } ends at core::mem::offset_of!(bindings::uffdio_continue, mapped)
);
uffdio_arg!(
    /// `struct uffdio_poison` up to its result field `updated`.
    UffdioPoison of uffdio_poison {
        range: bindings::uffdio_range,
        mode: u64,
    } ends at core::mem::offset_of!(bindings::uffdio_poison, updated)
);
uffdio_arg!(
    /// `struct uffdio_writeprotect`, which has no result field.
    UffdioWriteprotect of uffdio_writeprotect {
        range: bindings::uffdio_range,
        mode: u64,
    } ends at size_of::<bindings::uffdio_writeprotect>()
);

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
        unsafe { bindings::up_read(&raw mut (*self.ctx.as_ptr()).map_changing_lock) };
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
    unsafe { bindings::uffd_rs_cond_resched_fatal_signal_pending() }
}

/// Tells whether the current task is being killed (C:
/// `fatal_signal_pending(current)`), without giving up the CPU: for a
/// step of a loop that holds a spinlock into the next step, where
/// [`cond_resched_fatal_signal_pending`] must not be called.
#[inline]
pub fn fatal_signal_pending() -> bool {
    // SAFETY: no preconditions; reads the current task's signal state.
    unsafe { bindings::uffd_rs_fatal_signal_pending() }
}
