// SPDX-License-Identifier: GPL-2.0

//! The fill ioctls: `UFFDIO_COPY`, `UFFDIO_ZEROPAGE`, `UFFDIO_CONTINUE` and
//! `UFFDIO_POISON`.
//!
//! Each reads its argument from user space, checks it as C does (same
//! order, same errno), runs the fill, writes the result field back (the
//! number of bytes filled or a negative errno), and wakes the threads
//! waiting on a fault in what was filled unless user space asked not to.
//!
//! The fill itself is the C engine (`mfill_atomic()` of mm/userfaultfd.c),
//! through [`UffdCtx::mfill_atomic`].  A Rust engine exists on the
//! `fill-engine` branch; see Documentation/fill.rst for why it is not
//! here yet.

use crate::uapi::{FillOp, FillOutcome, UffdRange};
use kernel::bindings;
use kernel::ffi::{c_int, c_ulong};
use kernel::mm::uffd::{MfillMode, UffdCtx};
use kernel::prelude::*;
use kernel::uaccess::{UserPtr, UserSlice};

const WORD: usize = core::mem::size_of::<u64>();

// The argument layouts: the input words, then the `__s64` result field.
const _: () = {
    assert!(core::mem::size_of::<bindings::uffdio_copy>() == (4 + 1) * WORD);
    assert!(core::mem::size_of::<bindings::uffdio_zeropage>() == (3 + 1) * WORD);
    assert!(core::mem::size_of::<bindings::uffdio_continue>() == (3 + 1) * WORD);
    assert!(core::mem::size_of::<bindings::uffdio_poison>() == (3 + 1) * WORD);
};

macro_rules! fill_ioctl_entry {
    ($name:ident, $op:expr, $doc:literal) => {
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
            match fill_ioctl(ctx, $op, arg as UserPtr) {
                Ok(()) => 0,
                Err(e) => e.to_errno(),
            }
        }
    };
}

fill_ioctl_entry!(
    userfaultfd_rs_copy,
    FillOp::Copy,
    "The `UFFDIO_COPY` ioctl."
);
fill_ioctl_entry!(
    userfaultfd_rs_zeropage,
    FillOp::Zeropage,
    "The `UFFDIO_ZEROPAGE` ioctl."
);
fill_ioctl_entry!(
    userfaultfd_rs_continue,
    FillOp::Continue,
    "The `UFFDIO_CONTINUE` ioctl."
);
fill_ioctl_entry!(
    userfaultfd_rs_poison,
    FillOp::Poison,
    "The `UFFDIO_POISON` ioctl."
);

/// Writes the result field (C: `put_user()`); `EFAULT` if it cannot.
fn put_result(at: UserPtr, value: i64) -> Result {
    UserSlice::new(at, WORD).writer().write(&value)
}

/// Reads `words.len()` consecutive `__u64` fields from user address `at`
/// with one copy, as C's `copy_from_user()` of the struct; `EFAULT` if any
/// byte is unreadable.
pub(crate) fn read_words(at: UserPtr, words: &mut [u64]) -> Result {
    let mut bytes = [0u8; 4 * WORD];
    let bytes = bytes.get_mut(..words.len() * WORD).ok_or(EINVAL)?;
    UserSlice::new(at, bytes.len()).reader().read_slice(bytes)?;
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(WORD)) {
        let mut raw = [0u8; WORD];
        raw.copy_from_slice(chunk);
        *word = u64::from_ne_bytes(raw);
    }
    Ok(())
}

/// C: `userfaultfd_copy()`, `userfaultfd_zeropage()`,
/// `userfaultfd_continue()` and `userfaultfd_poison()`.
fn fill_ioctl(ctx: &UffdCtx, op: FillOp, arg: UserPtr) -> Result {
    let words = op.input_words();
    // The result field follows the input words.  An argument pointer at
    // the very top of the address space cannot be written: EFAULT, as
    // `put_user()` would give.
    let result_at = arg.checked_add(words * WORD).ok_or(EFAULT)?;

    if ctx.mmap_changing() {
        put_result(result_at, EAGAIN.to_errno().into())?;
        return Err(EAGAIN);
    }

    let mut input = [0u64; 4];
    read_words(arg, &mut input[..words])?;
    let (dst, src, len, mode) = match op {
        FillOp::Copy => (input[0], input[1], input[2], input[3]),
        _ => (input[0], 0, input[1], input[2]),
    };

    let page_size = bindings::PAGE_SIZE as u64;
    let task_size = ctx.task_size();
    if op == FillOp::Copy && !UffdRange::validate_unaligned(src, len, page_size, task_size) {
        return Err(EINVAL);
    }
    let range = UffdRange::validate(dst, len, page_size, task_size).ok_or(EINVAL)?;
    let mode = op.decode_mode(mode).ok_or(EINVAL)?;

    let mm = ctx.mmget().ok_or(ESRCH)?;
    let mfill_mode = match op {
        FillOp::Copy => MfillMode::Copy,
        FillOp::Zeropage => MfillMode::Zeropage,
        FillOp::Continue => MfillMode::Continue,
        FillOp::Poison => MfillMode::Poison,
    };
    let ret = ctx.mfill_atomic(
        &mm,
        mfill_mode,
        range.start() as usize,
        src as usize,
        range.len() as usize,
        mode.wp,
    );
    drop(mm);

    put_result(result_at, ret as i64)?;
    match FillOutcome::of(ret as i64, range.len()) {
        FillOutcome::Failed(errno) => Err(Error::from_errno(errno as i32)),
        FillOutcome::Filled { wake_len, complete } => {
            if wake_len != 0 && !mode.dontwake {
                ctx.wake(range.start() as usize, wake_len as usize);
            }
            if complete {
                Ok(())
            } else {
                Err(EAGAIN)
            }
        }
    }
}
