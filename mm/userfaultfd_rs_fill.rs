// SPDX-License-Identifier: GPL-2.0

//! The fill ioctls: `UFFDIO_COPY`, `UFFDIO_ZEROPAGE`, `UFFDIO_CONTINUE` and
//! `UFFDIO_POISON`.
//!
//! Each reads its argument from user space, checks it as C does (same
//! order, same errno), runs the fill, writes the result field back (the
//! number of bytes filled or a negative errno), and wakes the threads
//! waiting on a fault in what was filled unless user space asked not to.
//!
//! The fill engine, [`mfill_atomic`], maps the range one page at a time
//! under the VMA lock: it allocates the page tables, then does the mode's
//! operation on the PTE under its lock.  A page whose source cannot be read
//! with the locks held (the copy would fault) is copied after dropping
//! them, and the range is looked up again before it is mapped.  Hugetlb
//! VMAs take their own loop ([`mfill_atomic_hugetlb`]) with hugetlb's
//! locks.  Putting a new page into a page cache is the file system's job:
//! shared shmem COPY and ZEROPAGE call shmem's `shmem_mfill_atomic_pte()`,
//! hugetlb pages hugetlb's `hugetlb_mfill_atomic_pte()`.

use crate::uapi::{FillOp, FillOutcome, UffdRange};
use kernel::bindings;
use kernel::ffi::{c_int, c_ulong};
use kernel::mm::folio::{shmem_mfill_atomic_pte, Folio, LockedFolio};
#[cfg(CONFIG_HUGETLB_PAGE)]
use kernel::mm::hugetlb::{HugetlbFillLock, HugetlbVmaRef};
use kernel::mm::pgtable::{PmdRef, PteTableGuard};
use kernel::mm::pte::{Pte, PteMarker};
use kernel::mm::uffd::{
    cond_resched_fatal_signal_pending, put_user_s64, MapChangingReadGuard, MfillMode, UffdCtx,
};
use kernel::mm::virt::{MmRef, VmaReadGuard, VmaRef, ZeroPteCache};
use kernel::prelude::*;
use kernel::uaccess::{UserPtr, UserSlice};

const PAGE_SIZE: usize = bindings::PAGE_SIZE;

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
    put_user_s64(at, value)
}

/// Reads `N` consecutive `__u64` fields from user address `at` with one
/// copy of a size known at compile time, as C's `copy_from_user()` of the
/// struct; `EFAULT` if any byte is unreadable.
#[inline]
pub(crate) fn read_words<const N: usize>(at: UserPtr) -> Result<[u64; N]> {
    UserSlice::new(at, N * WORD).reader().read::<[u64; N]>()
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

    let (dst, src, len, mode) = match op {
        FillOp::Copy => {
            let [dst, src, len, mode] = read_words::<4>(arg)?;
            (dst, src, len, mode)
        }
        _ => {
            let [dst, len, mode] = read_words::<3>(arg)?;
            (dst, 0, len, mode)
        }
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
    let ret = mfill_atomic(
        ctx,
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

// ---------------------------------------------------------------------------
// The fill engine
// ---------------------------------------------------------------------------

/// C: `uffd_lock_vma()`: the VMA at `addr`, read-locked with its per-VMA
/// lock.  The fast path locks it without the mmap lock; a private VMA
/// without its anon_vma yet (which mapping anonymous pages needs) and a
/// contended lock take the mmap lock to look the VMA up, prepare the
/// anon_vma, and lock the VMA, which cannot fail then.  `ENOENT` without a
/// VMA, `ENOMEM` when the anon_vma cannot be allocated.
fn uffd_lock_vma(mm: &MmRef, addr: usize) -> Result<VmaReadGuard<'_>> {
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

/// C: `uffd_mfill_lock()`: the VMA of `[dst_start, dst_end)`, locked; it
/// must hold the whole range and be registered (`ENOENT` otherwise).
fn uffd_mfill_lock(mm: &MmRef, dst_start: usize, dst_end: usize) -> Result<VmaReadGuard<'_>> {
    let vma = uffd_lock_vma(mm, dst_start)?;
    // Registration is what checked VM_MAYWRITE: an unregistered VMA may be
    // a read-only mapping of a file we must not fill.
    if dst_end > vma.end() || vma.uffd_ctx().is_none() {
        return Err(ENOENT);
    }
    Ok(vma)
}

/// C: `mfill_atomic()`: fills `[dst_start, dst_start + len)` (a checked
/// range of `ctx`'s address space, whose reference `mm` is) in `mode`,
/// from user memory at `src_start` for COPY.  Returns the bytes filled
/// if any were, else a negative errno.
fn mfill_atomic(
    ctx: &UffdCtx,
    mm: &MmRef,
    mode: MfillMode,
    dst_start: usize,
    src_start: usize,
    len: usize,
    wp: bool,
) -> isize {
    let dst_end = dst_start + len;
    let mut copied = 0usize;
    // A page whose contents were copied from user space outside the
    // locks, waiting to be mapped at `dst_start + copied`.
    let mut pending: Option<Folio> = None;

    // Each pass runs under one acquisition of the locks.  A pass ends in
    // an error, in completion, or in `ENOENT` with a page to copy outside
    // the locks, after which the next pass maps it: at most two passes per
    // page.
    let err = 'pass: loop {
        let vma = match uffd_mfill_lock(mm, dst_start, dst_end) {
            Ok(vma) => vma,
            Err(e) => break e,
        };
        // Non-cooperative events (fork, mremap, ...) changing the mappings
        // under us: user space retries after reading them.
        let changing = ctx.map_changing_read();
        if changing.mmap_changing() {
            break EAGAIN;
        }
        // Shared anonymous memory is shmem (its VMA has vm_ops): an
        // anonymous shared VMA here would be a bug.
        if vma.is_anonymous() && vma.is_shared() {
            break EINVAL;
        }
        // Mapping write-protected needs a write-protect registration.
        if wp && !vma.uffd_modes().wp {
            break EINVAL;
        }
        if vma.is_hugetlb() {
            drop(pending);
            #[cfg(CONFIG_HUGETLB_PAGE)]
            return mfill_atomic_hugetlb(
                ctx,
                mm,
                (vma, changing),
                mode,
                dst_start,
                src_start,
                len,
                wp,
            );
            #[cfg(not(CONFIG_HUGETLB_PAGE))]
            break EINVAL;
        }
        if !vma.is_anonymous() && !vma.is_shmem() {
            break EINVAL;
        }
        // CONTINUE maps what a page cache holds: anonymous memory has none.
        if !vma.is_shmem() && mode == MfillMode::Continue {
            break EINVAL;
        }

        let mut zero = ZeroPteCache::new(&vma);
        // The PMD entry of the last page filled: the pages after it in the
        // same PTE table use it rather than walk the page tables again.
        let mut last_pmd: Option<PmdRef<'_>> = None;
        while copied < len {
            let dst_addr = dst_start + copied;
            let src_addr = src_start + copied;
            let mut reused = last_pmd.take().and_then(|pmd| pmd.for_addr(dst_addr));
            // At most two rounds: the second one after a fresh walk.
            let ret = loop {
                let pmd = match reused {
                    Some(pmd) => pmd,
                    None => match vma.prepare_pte_table(dst_addr) {
                        Ok(pmd) => pmd,
                        Err(e) => break 'pass e,
                    },
                };
                let ret = mfill_atomic_pte(
                    &vma,
                    pmd,
                    mode,
                    dst_addr,
                    src_addr,
                    wp,
                    &mut pending,
                    &mut zero,
                );
                // `EAGAIN`: the PTE table went away (khugepaged).  Right
                // after a walk that is the answer, as in C; with an earlier
                // page's entry, walk (allocating a new table) and try once
                // more, as C walks for every page.
                if ret == Err(EAGAIN) && reused.take().is_some() {
                    continue;
                }
                if ret.is_ok() {
                    last_pmd = Some(pmd);
                }
                break ret;
            };
            match after_step(ret, &pending) {
                Step::Filled => copied += PAGE_SIZE,
                Step::Interrupted => {
                    copied += PAGE_SIZE;
                    break 'pass EINTR;
                }
                Step::CopyOutsideLocks => {
                    drop(changing);
                    drop(vma);
                    if let Err(e) = copy_pending(&mut pending, src_addr) {
                        break 'pass e;
                    }
                    continue 'pass;
                }
                Step::Failed(e) => break 'pass e,
            }
        }
        // The whole range is filled.
        return copied as isize;
    };
    // `pending`, if any, is dropped here (C: `folio_put()`).
    fill_result(copied, err)
}

/// What the fill loops do after one page.
enum Step {
    /// The page is filled: on to the next.
    Filled,
    /// The page is filled, but the task is being killed: stop (`EINTR`).
    Interrupted,
    /// The source could not be read with the locks held: drop them, copy
    /// it into the pending page, and start a new pass.
    CopyOutsideLocks,
    /// Stop with this error.
    Failed(Error),
}

/// The common tail of a fill step (C: the end of the loops of
/// `mfill_atomic()` and `mfill_atomic_hugetlb()`); gives other tasks the
/// CPU first.
fn after_step(ret: Result, pending: &Option<Folio>) -> Step {
    let fatal = cond_resched_fatal_signal_pending();
    match ret {
        Ok(()) if fatal => Step::Interrupted,
        Ok(()) => Step::Filled,
        Err(e) if e == ENOENT && pending.is_some() => Step::CopyOutsideLocks,
        Err(e) => Step::Failed(e),
    }
}

/// Fills the pending page from user memory at `src` with page faults
/// allowed (no lock held); `EFAULT` if the source is not readable.
fn copy_pending(pending: &mut Option<Folio>, src: usize) -> Result {
    match pending.as_mut() {
        Some(folio) => folio.copy_from_user(src),
        None => Err(EFAULT),
    }
}

/// A fill's result: the bytes filled if any were, else the error.
fn fill_result(copied: usize, err: Error) -> isize {
    if copied > 0 {
        copied as isize
    } else {
        err.to_errno() as isize
    }
}

/// C: `mfill_atomic_hugetlb()`: the fill of a hugetlb VMA, one huge page
/// at a time, called by [`mfill_atomic`] with the VMA lock and
/// `map_changing_lock` held (`locks`), which it releases.  Each page is
/// filled by hugetlb's own `hugetlb_mfill_atomic_pte()` under the page's
/// fault mutex and the hugetlb VMA lock.  There is no huge zero page
/// (ZEROPAGE is `EINVAL`), and the range must be aligned to the huge page
/// size (`EINVAL`).  A retry after copying a source page outside the locks
/// must find a hugetlb VMA (`ENOENT`) of the same page size (`EINVAL`).
#[cfg(CONFIG_HUGETLB_PAGE)]
#[allow(clippy::too_many_arguments)]
fn mfill_atomic_hugetlb<'a>(
    ctx: &'a UffdCtx,
    mm: &'a MmRef,
    locks: (VmaReadGuard<'a>, MapChangingReadGuard<'a>),
    mode: MfillMode,
    dst_start: usize,
    src_start: usize,
    len: usize,
    wp: bool,
) -> isize {
    let hpage_size = locks.0.kernel_pagesize();
    if mode == MfillMode::Zeropage || (dst_start | len) & (hpage_size - 1) != 0 {
        return EINVAL.to_errno() as isize;
    }
    let dst_end = dst_start + len;
    let mut copied = 0usize;
    let mut pending: Option<Folio> = None;
    let mut locked = Some(locks);

    let err = 'pass: loop {
        let (vma, changing) = match locked.take() {
            Some(locks) => locks,
            None => {
                let vma = match uffd_mfill_lock(mm, dst_start, dst_end) {
                    Ok(vma) => vma,
                    Err(e) => break e,
                };
                match HugetlbVmaRef::new(&vma) {
                    None => break ENOENT,
                    Some(hvma) if hvma.page_size() != hpage_size => break EINVAL,
                    Some(_) => {}
                }
                let changing = ctx.map_changing_read();
                if changing.mmap_changing() {
                    break EAGAIN;
                }
                (vma, changing)
            }
        };

        // The pass's VMA is hugetlb: checked by the caller or above.
        let Some(hvma) = HugetlbVmaRef::new(&vma) else {
            break ENOENT;
        };
        while copied < len {
            let dst_addr = dst_start + copied;
            let src_addr = src_start + copied;
            let ret = {
                let lock = match HugetlbFillLock::lock(hvma, dst_addr) {
                    Ok(lock) => lock,
                    Err(e) => break 'pass e,
                };
                let pte = match lock.huge_pte_alloc() {
                    Ok(pte) => pte,
                    Err(e) => break 'pass e,
                };
                // Only CONTINUE maps over a present page (its own, from
                // the page cache; hugetlb checks that).
                if mode != MfillMode::Continue && !pte.get().is_huge_none_mostly() {
                    break 'pass EEXIST;
                }
                pte.mfill_atomic_pte(mode, src_addr, wp, &mut pending)
            };
            match after_step(ret, &pending) {
                Step::Filled => copied += hpage_size,
                Step::Interrupted => {
                    copied += hpage_size;
                    break 'pass EINTR;
                }
                Step::CopyOutsideLocks => {
                    drop(changing);
                    drop(vma);
                    if let Err(e) = copy_pending(&mut pending, src_addr) {
                        break 'pass e;
                    }
                    continue 'pass;
                }
                Step::Failed(e) => break 'pass e,
            }
        }
        return copied as isize;
    };
    fill_result(copied, err)
}

/// C: `mfill_atomic_pte()`: one page at `dst_addr` of the locked `vma`,
/// whose PTE table exists.  `ENOENT` with `pending` set: copy the source
/// outside the locks and call again.  `zero` caches the zero-page PTE of
/// `vma` for ZEROPAGE.
#[allow(clippy::too_many_arguments)]
fn mfill_atomic_pte<'a>(
    vma: &'a VmaRef,
    pmd: PmdRef<'a>,
    mode: MfillMode,
    dst_addr: usize,
    src_addr: usize,
    wp: bool,
    pending: &mut Option<Folio>,
    zero: &mut ZeroPteCache<'_>,
) -> Result {
    match mode {
        MfillMode::Continue => mfill_atomic_pte_continue(vma, pmd, dst_addr, wp),
        MfillMode::Poison => mfill_atomic_pte_poison(vma, pmd, dst_addr),
        // A private mapping, of anonymous memory or of a shmem file, gets
        // anonymous pages: filling a hole of a private shmem mapping must
        // not create the page in the file.
        MfillMode::Copy if !vma.is_shared() => {
            mfill_atomic_pte_copy(vma, pmd, dst_addr, src_addr, wp, pending)
        }
        MfillMode::Zeropage if !vma.is_shared() => {
            mfill_atomic_pte_zeropage(vma, pmd, dst_addr, zero)
        }
        // Shared shmem: the page goes into the page cache.
        MfillMode::Copy | MfillMode::Zeropage => shmem_mfill_atomic_pte(
            vma,
            dst_addr,
            src_addr,
            mode == MfillMode::Zeropage,
            wp,
            pending,
        ),
    }
}

/// Locks the PTE table of `addr` for a fill: `EAGAIN` if the table went
/// away since it was allocated (khugepaged may collapse shmem tables), and
/// `EFAULT` if the address is beyond the end of the VMA's file.
fn lock_for_fill<'a>(vma: &'a VmaRef, pmd: PmdRef<'a>, addr: usize) -> Result<PteTableGuard<'a>> {
    let table = PteTableGuard::lock_pmd(pmd)?.ok_or(EAGAIN)?;
    if vma.file_over_size(addr) {
        return Err(EFAULT);
    }
    Ok(table)
}

/// C: `mfill_atomic_install_pte()`: maps the page of `folio` at `addr`,
/// where the PTE is none or a marker (a marker is what a write-protected
/// or poisoned hole holds; filling it is what user space asked for).  Its
/// reference goes to the mapping.
fn install_folio<'a>(
    vma: &'a VmaRef,
    pmd: PmdRef<'a>,
    addr: usize,
    folio: Folio,
    newly_allocated: bool,
    wp: bool,
) -> Result {
    {
        let page = folio.page();
        let mut table = lock_for_fill(vma, pmd, addr)?;
        install_page(vma, &mut table, &page, newly_allocated, wp)?;
    }
    folio.into_mapped();
    Ok(())
}

/// The PTE for a filled page: writable if the VMA is, except for a
/// page-cache page in a private mapping (the first write must copy it).
fn install_page(
    vma: &VmaRef,
    table: &mut PteTableGuard<'_>,
    page: &kernel::mm::folio::FolioPage<'_>,
    newly_allocated: bool,
    wp: bool,
) -> Result {
    let writable = vma.is_writable() && (vma.is_shared() || !page.in_page_cache());
    table.install_page(page, newly_allocated, writable, wp)
}

/// C: `mfill_atomic_pte_copy()`: a new anonymous page with the user's
/// data.  The copy is first tried with page faults disabled; if the source
/// is not in memory, `ENOENT` hands the page out to be filled without the
/// locks.
fn mfill_atomic_pte_copy<'a>(
    vma: &'a VmaRef,
    pmd: PmdRef<'a>,
    dst_addr: usize,
    src_addr: usize,
    wp: bool,
    pending: &mut Option<Folio>,
) -> Result {
    let mut folio = match pending.take() {
        Some(folio) => folio,
        None => {
            let mut folio = Folio::alloc_anon(vma, dst_addr, false)?;
            if !folio.copy_from_user_nofault(src_addr) {
                *pending = Some(folio);
                return Err(ENOENT);
            }
            folio
        }
    };
    folio.prepare_new(vma)?;
    install_folio(vma, pmd, dst_addr, folio, true, wp)
}

/// C: `mfill_atomic_pte_zeropage()`: the shared zero page, or a zeroed
/// page where the mm may not map the zero page.  Only over a none PTE: a
/// marker is kept (`EEXIST`), unlike COPY.
fn mfill_atomic_pte_zeropage<'a>(
    vma: &'a VmaRef,
    pmd: PmdRef<'a>,
    dst_addr: usize,
    zero: &mut ZeroPteCache<'_>,
) -> Result {
    let Some(zero) = zero.get(dst_addr) else {
        let mut folio = Folio::alloc_anon(vma, dst_addr, true)?;
        folio.prepare_new(vma)?;
        return install_folio(vma, pmd, dst_addr, folio, true, false);
    };
    let mut table = lock_for_fill(vma, pmd, dst_addr)?;
    if !table.get().is_none() {
        return Err(EEXIST);
    }
    table.set_over_none_mostly(zero)
}

/// C: `mfill_atomic_pte_continue()`: maps the page the shmem page cache
/// already holds (never allocates: `EFAULT` without one; `EIO` for a page
/// with a memory error).
fn mfill_atomic_pte_continue<'a>(
    vma: &'a VmaRef,
    pmd: PmdRef<'a>,
    dst_addr: usize,
    wp: bool,
) -> Result {
    let folio = LockedFolio::shmem_get(vma, dst_addr)?;
    if folio.page_hwpoison() {
        return Err(EIO);
    }
    {
        let page = folio.page();
        let mut table = lock_for_fill(vma, pmd, dst_addr)?;
        install_page(vma, &mut table, &page, false, wp)?;
    }
    folio.unlock_mapped();
    Ok(())
}

/// C: `mfill_atomic_pte_poison()`: a poisoned marker, so that an access
/// raises `SIGBUS`.  Only over a none PTE: never over a marker.
fn mfill_atomic_pte_poison<'a>(vma: &'a VmaRef, pmd: PmdRef<'a>, dst_addr: usize) -> Result {
    let mut table = lock_for_fill(vma, pmd, dst_addr)?;
    if !table.get().is_none() {
        return Err(EEXIST);
    }
    table.set_over_none_mostly(Pte::new_marker(PteMarker::POISONED))
}
