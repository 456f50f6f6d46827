// SPDX-License-Identifier: GPL-2.0

//! The fill ioctls: `UFFDIO_COPY`, `UFFDIO_ZEROPAGE`, `UFFDIO_CONTINUE` and
//! `UFFDIO_POISON`, and the fill driver behind them (C: `mfill_atomic()`).
//!
//! An ioctl reads its argument, checks it as C does (same order, same
//! errno) into a [`FillRequest`], runs the fill, writes the result field
//! back (the bytes filled, or a negative errno) and wakes the threads
//! waiting on a fault in what was filled, unless user space asked not to.
//!
//! The driver fills the range in passes.  A pass takes the locks once
//! ([`FillLocks`]: the VMA lock and `map_changing_lock`, with the checks C
//! makes under them), then [`run_pass`] fills page after page with a
//! [`FillStep`]: [`pte::PteStep`] for anonymous and shmem memory (with
//! [`shmem`]'s page-cache fill for shared shmem), [`hugetlb::HugetlbStep`]
//! for hugetlb.  A page whose source cannot be
//! read with the locks held (the copy would fault) ends the pass: it is
//! copied with the locks dropped, and the next pass maps it.  How far the
//! fill got is a [`FillProgress`], from which the result field, the wake
//! length and the ioctl's return follow.

mod hugetlb;
mod pte;
mod shmem;

use crate::uapi::{
    FillOp, FillOutcome, FillProgress, UffdRange, UFFDIO_FILL_MODE_DONTWAKE, UFFDIO_FILL_MODE_WP,
};
use core::sync::atomic::{fence, Ordering};
use kernel::bindings;
use kernel::mm::folio::Folio;
use kernel::mm::hugetlb::HugetlbTempFolio;
use kernel::mm::uffd::{
    cond_resched_fatal_signal_pending, fatal_signal_pending, put_user_s64, MapChangingReadGuard,
    MfillFlags, MfillMode, UffdCtx, UffdioArg, UffdioContinue, UffdioCopy, UffdioPoison,
    UffdioZeropage,
};
use kernel::mm::virt::VmaReadGuard;
use kernel::mm::MmWithUser;
use kernel::prelude::*;
use kernel::uaccess::UserPtr;

const PAGE_SIZE: u64 = bindings::PAGE_SIZE as u64;

// The host-tested mode bits of `uapi` are the uapi header's.
const _: () = {
    assert!(UFFDIO_FILL_MODE_DONTWAKE == bindings::UFFDIO_COPY_MODE_DONTWAKE);
    assert!(UFFDIO_FILL_MODE_DONTWAKE == bindings::UFFDIO_ZEROPAGE_MODE_DONTWAKE);
    assert!(UFFDIO_FILL_MODE_DONTWAKE == bindings::UFFDIO_CONTINUE_MODE_DONTWAKE);
    assert!(UFFDIO_FILL_MODE_DONTWAKE == bindings::UFFDIO_POISON_MODE_DONTWAKE);
    assert!(UFFDIO_FILL_MODE_WP == bindings::UFFDIO_COPY_MODE_WP);
    assert!(UFFDIO_FILL_MODE_WP == bindings::UFFDIO_CONTINUE_MODE_WP);
};

/// C: `userfaultfd_copy()`.
pub(crate) fn userfaultfd_copy(ctx: &UffdCtx, arg: UserPtr) -> Result {
    fill_ioctl::<UffdioCopy>(ctx, arg)
}

/// C: `userfaultfd_zeropage()`.
pub(crate) fn userfaultfd_zeropage(ctx: &UffdCtx, arg: UserPtr) -> Result {
    fill_ioctl::<UffdioZeropage>(ctx, arg)
}

/// C: `userfaultfd_continue()`.
pub(crate) fn userfaultfd_continue(ctx: &UffdCtx, arg: UserPtr) -> Result {
    fill_ioctl::<UffdioContinue>(ctx, arg)
}

/// C: `userfaultfd_poison()`.
pub(crate) fn userfaultfd_poison(ctx: &UffdCtx, arg: UserPtr) -> Result {
    fill_ioctl::<UffdioPoison>(ctx, arg)
}

/// The fields of a fill ioctl's argument, by name.
struct FillArgs {
    dst: u64,
    /// The source of `UFFDIO_COPY`; 0 for the others.
    src: u64,
    len: u64,
    mode: u64,
}

/// The argument struct of a fill ioctl.
trait FillArg: UffdioArg {
    /// Which ioctl it is.
    const OP: FillOp;
    /// The mode of `mfill_atomic()` it asks for.
    const MODE: MfillMode;
    /// Its fields.
    fn args(&self) -> FillArgs;
}

impl FillArg for UffdioCopy {
    const OP: FillOp = FillOp::Copy;
    const MODE: MfillMode = MfillMode::Copy;
    #[inline]
    fn args(&self) -> FillArgs {
        FillArgs {
            dst: self.dst,
            src: self.src,
            len: self.len,
            mode: self.mode,
        }
    }
}

/// The fill ioctls whose argument is a `range`, a `mode` and the result.
macro_rules! range_fill_arg {
    ($($arg:ident => $op:ident),+ $(,)?) => {
        $(
            impl FillArg for $arg {
                const OP: FillOp = FillOp::$op;
                const MODE: MfillMode = MfillMode::$op;
                #[inline]
                fn args(&self) -> FillArgs {
                    FillArgs {
                        dst: self.range.start,
                        src: 0,
                        len: self.range.len,
                        mode: self.mode,
                    }
                }
            }
        )+
    };
}

range_fill_arg!(
    UffdioZeropage => Zeropage,
    UffdioContinue => Continue,
    UffdioPoison => Poison,
);

/// A checked fill request: the range, its source, the mode and its flags.
///
/// # Invariants
///
/// `[dst, dst + len)` passed `validate_range()` (page aligned, not empty,
/// in user space); for COPY so did `[src, src + len)`, except alignment.
pub(crate) struct FillRequest {
    flags: MfillFlags,
    /// First address, in bytes.
    dst: usize,
    /// Source of COPY (user address, in bytes); 0 for the other modes.
    src: usize,
    /// Length in bytes, a multiple of the base page size.
    len: usize,
    dontwake: bool,
}

impl FillRequest {
    /// C: the checks of `userfaultfd_copy()` and its siblings, in C's
    /// order; each failure is `EINVAL`.
    #[inline]
    fn new<A: FillArg>(arg: &A, task_size: u64) -> Result<Self> {
        let args = arg.args();
        if A::OP == FillOp::Copy
            && !UffdRange::validate_unaligned(args.src, args.len, PAGE_SIZE, task_size)
        {
            return Err(EINVAL);
        }
        let range = UffdRange::validate(args.dst, args.len, PAGE_SIZE, task_size).ok_or(EINVAL)?;
        let mode = A::OP.decode_mode(args.mode).ok_or(EINVAL)?;
        // INVARIANT: validated above.
        Ok(Self {
            flags: MfillFlags::new(A::MODE, mode.wp),
            dst: range.start() as usize,
            src: args.src as usize,
            len: range.len() as usize,
            dontwake: mode.dontwake,
        })
    }

    /// One past the last address.
    #[inline]
    fn end(&self) -> usize {
        self.dst + self.len
    }
}

/// One fill ioctl on `ctx` with the user pointer `arg`.
fn fill_ioctl<A: FillArg>(ctx: &UffdCtx, arg: UserPtr) -> Result {
    let result_at = A::result_ptr(arg)?;
    if ctx.mmap_changing() {
        put_user_s64(result_at, EAGAIN.to_errno().into())?;
        return Err(EAGAIN);
    }
    let req = FillRequest::new(&A::read(arg)?, ctx.mm().task_size())?;
    let mm = ctx.mm().mmget_not_zero().ok_or(ESRCH)?;
    // C: `mfill_atomic_continue()`'s `smp_wmb()`: what user space wrote
    // into the page cache is visible before the page is mapped.  A compiler
    // barrier on x86-64, as there.
    if A::MODE == MfillMode::Continue {
        fence(Ordering::Release);
    }
    let mut progress = FillProgress::new();
    let stopped = mfill_atomic(ctx, &mm, &req, &mut progress);
    drop(mm);

    put_user_s64(result_at, progress.result_field())?;
    if progress.wake_len() != 0 && !req.dontwake {
        ctx.wake(req.dst, progress.wake_len() as usize);
    }
    match progress.outcome(req.len as u64) {
        FillOutcome::Complete => Ok(()),
        FillOutcome::Partial => Err(EAGAIN),
        // The error itself: no errno round trip.
        FillOutcome::Failed(_) => Err(stopped.err().unwrap_or(EAGAIN)),
    }
}

/// The locks of one pass (C: `uffd_mfill_lock()`, then
/// `map_changing_lock` for reading), taken in that order and released in
/// the other (the field order).
struct FillLocks<'a> {
    _changing: MapChangingReadGuard<'a>,
    vma: VmaReadGuard<'a>,
}

impl<'a> FillLocks<'a> {
    /// The locks of a pass, with the checks `mfill_atomic()` makes under
    /// them: `EAGAIN` while non-cooperative events change the mappings
    /// (user space retries after reading them), `EINVAL` for a WP fill of
    /// a VMA not registered for WP, and for shared anonymous memory that
    /// is not shmem (a bug).  The errors of [`uffd_mfill_lock`] too.
    #[inline]
    fn lock(ctx: &'a UffdCtx, mm: &'a MmWithUser, req: &FillRequest) -> Result<Self> {
        let vma = uffd_mfill_lock(mm, req.dst, req.end())?;
        let changing = ctx.map_changing_read();
        if changing.mmap_changing() {
            return Err(EAGAIN);
        }
        if vma.is_anonymous() && vma.is_shared() {
            return Err(EINVAL);
        }
        if req.flags.wp() && !vma.uffd_modes().wp {
            return Err(EINVAL);
        }
        Ok(Self {
            _changing: changing,
            vma,
        })
    }
}

/// C: `uffd_lock_vma()`: the VMA at `addr`, read-locked with its per-VMA
/// lock.  The fast path locks it without the mmap lock; a private VMA
/// without its anon_vma yet (which mapping anonymous pages needs) and a
/// contended lock take the mmap lock to look the VMA up, prepare the
/// anon_vma, and lock the VMA, which cannot fail then.  `ENOENT` without a
/// VMA, `ENOMEM` when the anon_vma cannot be allocated.
#[inline]
fn uffd_lock_vma(mm: &MmWithUser, addr: usize) -> Result<VmaReadGuard<'_>> {
    if let Some(vma) = mm.lock_vma_under_rcu(addr) {
        if vma.is_shared() || vma.has_anon_vma() {
            return Ok(vma);
        }
    }
    let mmap = mm.mmap_read_lock();
    let vma = mmap.vma_lookup(addr).ok_or(ENOENT)?;
    if !vma.is_shared() {
        mmap.locked().anon_vma_prepare(vma)?;
    }
    mmap.vma_read_lock(vma)
}

/// C: `uffd_mfill_lock()`: the VMA of `[start, end)`, locked; it must hold
/// the whole range and be registered (`ENOENT` otherwise).
#[inline]
fn uffd_mfill_lock(mm: &MmWithUser, start: usize, end: usize) -> Result<VmaReadGuard<'_>> {
    let vma = uffd_lock_vma(mm, start)?;
    // Registration is what checked VM_MAYWRITE: an unregistered VMA may be
    // a read-only mapping of a file we must not fill.
    if end > vma.end() || vma.uffd_ctx().is_none() {
        return Err(ENOENT);
    }
    Ok(vma)
}

/// C: `mfill_atomic()`: fills the range of `req` in `ctx`'s address space
/// `mm`, recording in `progress` how far it got and what stopped it.
/// Returns that error, if one did.
#[inline]
fn mfill_atomic(
    ctx: &UffdCtx,
    mm: &MmWithUser,
    req: &FillRequest,
    progress: &mut FillProgress,
) -> Result {
    let ret = fill_passes(ctx, mm, req, progress);
    if let Err(e) = ret {
        progress.stop(e.to_errno());
    }
    ret
}

/// The passes of a fill.  Each ends in completion, in an error, or with a
/// page to copy outside the locks, which the next pass maps first: so at
/// most two passes per page.  A pending page (C: `folio_put()`) is dropped
/// when the fill ends.
fn fill_passes(
    ctx: &UffdCtx,
    mm: &MmWithUser,
    req: &FillRequest,
    progress: &mut FillProgress,
) -> Result {
    // The page copied outside the locks for a retry: a base page, or a
    // huge page once a hugetlb pass runs.
    let mut pending: Option<Folio> = None;
    let mut pending_huge: Option<HugetlbTempFolio> = None;
    // The huge page size once a hugetlb pass has run: later passes must
    // find a hugetlb VMA of that size again.
    let mut hugetlb_size: Option<usize> = None;
    loop {
        let locks = match hugetlb_size {
            None => FillLocks::lock(ctx, mm, req)?,
            Some(size) => hugetlb::relock(ctx, mm, req, size)?,
        };
        let end = match locks.vma.as_hugetlb() {
            Some(vma) => {
                // A base page pending for another VMA is of no use here.
                pending = None;
                hugetlb::fill_pass(vma, req, progress, &mut pending_huge, &mut hugetlb_size)?
            }
            None => pte::run_pass(
                &mut pte::PteStep::new(&locks.vma, req.flags, req.end())?,
                req,
                progress,
                &mut pending,
            )?,
        };
        match end {
            PassEnd::Complete => return Ok(()),
            PassEnd::CopyOutsideLocks(src) => {
                drop(locks);
                match (pending.as_mut(), pending_huge.as_mut()) {
                    (Some(folio), _) => folio.copy_from_user(src)?,
                    (None, Some(folio)) => folio.copy_from_user(src)?,
                    (None, None) => return Err(EFAULT),
                }
            }
        }
    }
}

/// How a pass ended, if not with an error.
enum PassEnd {
    /// The whole range is filled.
    Complete,
    /// The source at this user address could not be read with the locks
    /// held: copy it into the pending page without them, then pass again.
    CopyOutsideLocks(usize),
}

/// The fill of one page, under the locks of a pass.
trait FillStep {
    /// The page a COPY fills outside the locks when the source could not
    /// be read under them: [`Folio`] or [`HugetlbTempFolio`].
    type Pending;

    /// Whether the step holds a spinlock (a page table's) into its next
    /// page: the pass must not reschedule after this page then.
    fn holds_lock(&self) -> bool {
        false
    }

    /// Fills the page at `dst` (from `src` for COPY); returns the bytes
    /// filled: the page size, or a whole aligned block of pages that one
    /// PMD maps.  `ENOENT` with `pending` set: the source must be copied
    /// outside the locks first.
    fn fill(
        &mut self,
        dst: usize,
        src: usize,
        pending: &mut Option<Self::Pending>,
    ) -> Result<usize>;
}

/// One pass: fills page after page from where `progress` says, until the
/// end of the range, an error, or a page to copy outside the locks (C: the
/// loops of `mfill_atomic()` and `mfill_atomic_hugetlb()`).  Gives other
/// tasks the CPU after each page that the step does not hold a lock past
/// (at least once per PTE table), and stops with `EINTR` after a page when
/// the task is being killed.
fn run_pass<S: FillStep>(
    step: &mut S,
    req: &FillRequest,
    progress: &mut FillProgress,
    pending: &mut Option<S::Pending>,
) -> Result<PassEnd> {
    // Each round fills at least a page or ends the pass: at most one
    // round per page of the range.
    while (progress.done() as usize) < req.len {
        let offset = progress.done() as usize;
        let src = req.src + offset;
        let ret = step.fill(req.dst + offset, src, pending);
        let fatal = if step.holds_lock() {
            fatal_signal_pending()
        } else {
            cond_resched_fatal_signal_pending()
        };
        match ret {
            Ok(filled) => {
                progress.advance(filled as u64);
                if fatal {
                    return Err(EINTR);
                }
            }
            Err(e) if e == ENOENT && pending.is_some() => {
                return Ok(PassEnd::CopyOutsideLocks(src))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(PassEnd::Complete)
}
