// SPDX-License-Identifier: GPL-2.0

//! The fill of anonymous or shmem memory, page by page under the PTE
//! lock, a run of pages under one hold of it, or (CONTINUE) a whole
//! PMD-sized folio with one PMD (C: `mfill_atomic_pte()` and the functions
//! it calls).

use super::{FillProgress, FillRequest, FillStep, PassEnd};
use kernel::bindings::{PAGE_SIZE, PMD_SHIFT};
use kernel::mm::folio::{Folio, LockedFolio};
use kernel::mm::pgtable::{PmdRef, PteTableGuard};
use kernel::mm::pte::{Pte, PteMarker};
use kernel::mm::uffd::{MfillFlags, MfillMode};
use kernel::mm::virt::{ShmemVma, VmaRef, ZeroPteCache};
use kernel::prelude::*;

/// The fill step of a pass over an anonymous or shmem VMA.
///
/// ZEROPAGE with the zero page and POISON set a PTE and take no step that
/// sleeps: a run of such pages in one PTE table is filled under one hold
/// of the table's lock (C takes it for each page), kept from one page to
/// the next in `held`.  CONTINUE on shmem does the same for a run of up
/// to [`RUN_PAGES`] pages whose folios it locks first, and COPY into a
/// private mapping for a run of pages it copies into new folios first
/// ([`Run`]).
/// Each page is still checked and counted on its own, in C's order, so
/// the count, the errno of the first page that fails and the check for a
/// fatal signal after each page stay C's; only the reschedule point moves
/// to the end of the run (at most one PTE table, 512 pages, apart).
pub(super) struct PteStep<'a> {
    vma: &'a VmaRef,
    /// The VMA as shmem, if it is: asked of C once per pass.
    shmem: Option<&'a ShmemVma>,
    flags: MfillFlags,
    zero: ZeroPteCache<'a>,
    /// The PMD entry of the last page filled: the pages after it in the
    /// same PTE table use it rather than walk the page tables again.
    last_pmd: Option<PmdRef<'a>>,
    /// The PTE table locked for the next page of a run, at its PTE.
    /// Declared before `run`: when the step is dropped, the table lock is
    /// released before the run's folios, as C releases them.
    held: Option<PteTableGuard<'a>>,
    /// CONTINUE: the run's next folios, locked (made at the first page:
    /// the other modes do not pay for its setup and drop).
    run: Option<Run<LockedFolio>>,
    /// COPY into a private mapping: the run's next folios, new, copied
    /// and charged (made at the first page, as `run`).
    copy_run: Option<Run<Folio>>,
    /// One past the last address of the fill, in bytes.
    end: usize,
}

/// The bytes one PTE table maps.
const PMD_SIZE: usize = 1 << PMD_SHIFT;

/// The most pages of a run: CONTINUE locks their folios, COPY copies
/// them into new folios, before the PTE table's lock is taken.
pub(super) const RUN_PAGES: usize = 16;

/// The folios of the next pages of a run, in address order from `addr`;
/// the first `None` ends the run.  CONTINUE keeps them locked and
/// referenced ([`LockedFolio`]), COPY new, copied and charged ([`Folio`]).
struct Run<T> {
    folios: [Option<T>; RUN_PAGES],
    /// The index in `folios` of the next page's folio.
    next: usize,
    /// The address of the next page, in bytes.
    addr: usize,
}

impl<T> Run<T> {
    #[inline]
    fn new() -> Self {
        Self {
            folios: [const { None }; RUN_PAGES],
            next: RUN_PAGES,
            addr: 0,
        }
    }

    /// Whether the run holds no folio for a next page.
    #[inline]
    fn is_empty(&self) -> bool {
        !matches!(self.folios.get(self.next), Some(Some(_)))
    }

    /// The folio of `addr`, if it is the run's next page.
    #[inline]
    fn take(&mut self, addr: usize) -> Option<T> {
        if addr != self.addr {
            return None;
        }
        let folio = self.folios.get_mut(self.next)?.take()?;
        self.next += 1;
        self.addr += PAGE_SIZE;
        Some(folio)
    }

    /// Starts a run at `addr`: the folios `get` gives for the pages from
    /// `addr` up to `end`, until the first it gives none for.  Whatever
    /// the run still held is dropped first.
    #[inline]
    fn start(&mut self, addr: usize, end: usize, mut get: impl FnMut(usize) -> Option<T>) {
        self.clear();
        self.next = 0;
        self.addr = addr;
        let mut at = addr;
        for slot in self.folios.iter_mut() {
            if at >= end {
                break;
            }
            match get(at) {
                Some(folio) => *slot = Some(folio),
                None => break,
            }
            at += PAGE_SIZE;
        }
    }

    /// Starts a run at `addr` with the folios `fill` puts into the slots
    /// it is given, one per page from `addr` up to `end`, from the first
    /// slot on; it returns how many it filled.  Whatever the run still
    /// held is dropped first.
    #[inline]
    fn start_batch(
        &mut self,
        addr: usize,
        end: usize,
        fill: impl FnOnce(&mut [Option<T>]) -> usize,
    ) {
        self.clear();
        self.next = 0;
        self.addr = addr;
        let pages = (end.saturating_sub(addr) / PAGE_SIZE).min(RUN_PAGES);
        if let Some(slots) = self.folios.get_mut(..pages) {
            fill(slots);
        }
    }

    /// Drops the folios the run still holds (CONTINUE: unlocks and puts
    /// them; COPY: puts them, which frees and uncharges them).
    #[inline]
    fn clear(&mut self) {
        if let Some(rest) = self.folios.get_mut(self.next..) {
            for slot in rest {
                *slot = None;
            }
        }
        self.next = RUN_PAGES;
    }
}

/// The end of a run that starts at `dst`: the end of the fill or of
/// `dst`'s PTE table, whichever comes first, in bytes.
#[inline]
fn run_end(dst: usize, end: usize) -> usize {
    end.min((dst | (PMD_SIZE - 1)).wrapping_add(1))
}

impl<'a> PteStep<'a> {
    /// C: the VMA checks of `mfill_atomic()` after the hugetlb hand-off:
    /// anonymous or shmem memory only, and CONTINUE only on shmem, which
    /// has a page cache (`EINVAL` otherwise).
    /// `end` is one past the last address of the fill, in bytes.
    pub(super) fn new(vma: &'a VmaRef, flags: MfillFlags, end: usize) -> Result<Self> {
        let shmem = if vma.is_anonymous() {
            None
        } else {
            Some(vma.as_shmem().ok_or(EINVAL)?)
        };
        if shmem.is_none() && flags.mode() == MfillMode::Continue {
            return Err(EINVAL);
        }
        Ok(Self {
            vma,
            shmem,
            flags,
            zero: ZeroPteCache::new(vma),
            last_pmd: None,
            held: None,
            run: None,
            copy_run: None,
            end,
        })
    }

    /// The PTE table of `dst` locked: the one held from the page before,
    /// or found through the PMD entry of the last page filled, or after a
    /// walk that allocates what is missing.  `EAGAIN` when the table went
    /// away right after a walk (khugepaged), as in C; with an earlier
    /// page's entry, walks once more, as C walks for every page.
    #[inline]
    fn lock_table(&mut self, dst: usize) -> Result<PteTableGuard<'a>> {
        if let Some(table) = self.held.take() {
            if table.addr() == dst {
                return Ok(table);
            }
        }
        let mut reused = self.last_pmd.take().and_then(|pmd| pmd.for_addr(dst));
        // At most two rounds: the second one after a fresh walk.
        loop {
            let pmd = match reused {
                Some(pmd) => pmd,
                None => self.vma.prepare_pte_table(dst)?,
            };
            match PteTableGuard::lock_pmd(pmd)? {
                Some(table) => {
                    self.last_pmd = Some(pmd);
                    return Ok(table);
                }
                None if reused.take().is_some() => continue,
                None => return Err(EAGAIN),
            }
        }
    }

    /// C: `mfill_atomic_pte_zeropage()` with the zero page, and
    /// `mfill_atomic_pte_poison()`: sets the PTE of `dst` to `pte` (the
    /// zero page, or a poisoned marker) where it is none; `EFAULT` beyond
    /// the end of the VMA's file, `EEXIST` over anything else, a marker
    /// included.  The table stays locked for the next page when that is
    /// in the same table and in the fill.
    #[inline]
    fn set_pte(&mut self, dst: usize, pte: Pte) -> Result {
        let mut table = self.lock_table(dst)?;
        if self.vma.file_over_size(dst) {
            return Err(EFAULT);
        }
        if !table.get().is_none() {
            return Err(EEXIST);
        }
        table.set_over_none_mostly(pte)?;
        if self.end.saturating_sub(dst) > PAGE_SIZE && table.next_page() {
            self.held = Some(table);
        }
        Ok(())
    }

    /// C: the walk of `mfill_atomic()` (`ENOMEM`, `EEXIST` for a huge
    /// PMD, `EFAULT` for a bad one), then `mfill_atomic_pte_continue()`:
    /// maps the page the shmem page cache holds at `dst` (never allocates:
    /// `EFAULT` without one, and shmem's errors; `EIO` for a page with a
    /// memory error), then, as `mfill_atomic_install_pte()`, `EAGAIN` if
    /// the PTE table went away,
    /// `EFAULT` beyond the end of the file, `EEXIST` if the PTE maps
    /// something.  The first page of a run waits for its folio; the
    /// folios of the next pages in the same table are taken if that needs
    /// no sleep, and the table then stays locked from page to page.  On an
    /// error the run ends: the table lock goes first, then the folios.
    #[inline]
    fn fill_continue(&mut self, shmem: &'a ShmemVma, dst: usize) -> Result {
        let ret = self.continue_page(shmem, dst);
        if ret.is_err() {
            self.held = None;
            if let Some(run) = self.run.as_mut() {
                run.clear();
            }
        }
        ret
    }

    #[inline]
    fn continue_page(&mut self, shmem: &'a ShmemVma, dst: usize) -> Result {
        // The next page of a run: its folio is locked and its table held.
        if let Some(folio) = self.run.as_mut().and_then(|run| run.take(dst)) {
            // Dropped before `folio` on an error: the PTE lock goes first.
            let table = self.lock_table(dst)?;
            return self.continue_install(table, folio, dst);
        }
        // A new run.  As C: the walk first (`ENOMEM`, `EEXIST` for a huge
        // PMD, `EFAULT` for a bad one), then the page-cache lookup, which
        // sleeps, with no lock held.
        self.held = None;
        if let Some(run) = self.run.as_mut() {
            run.clear();
        }
        let mut reused = self.last_pmd.take().and_then(|pmd| pmd.for_addr(dst));
        // At most two rounds: the second one after a fresh walk, when the
        // table of an earlier page's entry went away (khugepaged), as C
        // walks for every page.
        loop {
            let pmd = match reused {
                Some(pmd) => pmd,
                None => self.vma.prepare_pte_table(dst)?,
            };
            let folio = shmem.get_folio_noalloc(dst)?;
            if folio.page_hwpoison() {
                return Err(EIO);
            }
            let Some(table) = PteTableGuard::lock_pmd(pmd)? else {
                drop(folio);
                if reused.take().is_some() {
                    continue;
                }
                return Err(EAGAIN);
            };
            self.last_pmd = Some(pmd);
            // The folios of the next pages of the fill in the same table,
            // if any (a fill of one page, a fault's, makes no run), taken
            // only if that needs no sleep, as the table is locked: those
            // the page cache holds and that can be locked without
            // sleeping, in one walk of the page cache
            // ([`ShmemVma::trylock_cache_folios`]).
            let run_end = run_end(dst, self.end);
            if run_end - dst > PAGE_SIZE {
                let run = self.run.get_or_insert_with(Run::new);
                run.start_batch(dst + PAGE_SIZE, run_end, |slots| {
                    shmem.trylock_cache_folios(dst + PAGE_SIZE, slots)
                });
            }
            return self.continue_install(table, folio, dst);
        }
    }

    /// The end of C's `mfill_atomic_pte_continue()` under the locked
    /// `table` at `dst`: `EFAULT` beyond the end of the file, `EEXIST` if
    /// the PTE maps something, else the page of `folio` is mapped.  The
    /// table stays held when the run has a next page.
    #[inline(always)]
    fn continue_install(
        &mut self,
        table: PteTableGuard<'a>,
        folio: LockedFolio,
        dst: usize,
    ) -> Result {
        let more = self.run.as_ref().is_some_and(|run| !run.is_empty());
        self.install_run_page(table, folio, dst, more, |table, folio, flags| {
            table.install_cache_folio(folio, flags)
        })
    }

    /// The end of the fill of the page at `dst` under the locked `table`
    /// (C: `mfill_atomic_install_pte()`): `EFAULT` beyond the end of the
    /// file, else `install` maps `folio` (`EEXIST` if the PTE maps
    /// something).  On an error the table lock goes first, then the folio,
    /// as C puts it after the PTE lock.  The table stays held for the next
    /// page when `more` says the run has one.
    #[inline(always)]
    fn install_run_page<T>(
        &mut self,
        mut table: PteTableGuard<'a>,
        folio: T,
        dst: usize,
        more: bool,
        install: impl FnOnce(
            &mut PteTableGuard<'a>,
            T,
            MfillFlags,
        ) -> core::result::Result<(), (Error, T)>,
    ) -> Result {
        if self.vma.file_over_size(dst) {
            drop(table);
            drop(folio);
            return Err(EFAULT);
        }
        if let Err((e, folio)) = install(&mut table, folio, self.flags) {
            drop(table);
            drop(folio);
            return Err(e);
        }
        if more && table.next_page() {
            self.held = Some(table);
        }
        Ok(())
    }

    /// C: the walk of `mfill_atomic()` (`ENOMEM`, `EEXIST` for a huge
    /// PMD, `EFAULT` for a bad one), then `mfill_atomic_pte_copy()` into a
    /// private mapping: a new anonymous page with the user's data from
    /// `src` (`ENOMEM`), copied with page faults disabled; if the source
    /// is not in memory, `ENOENT` hands the page out in `pending` to be
    /// filled without the locks, and the next pass maps it.  Then the
    /// memcg charge (`ENOMEM`) and, as `mfill_atomic_install_pte()`,
    /// `EAGAIN` if the PTE table went away, `EFAULT` beyond the end of the
    /// file, `EEXIST` if the PTE maps something.
    ///
    /// Before the table is locked for the first page of a run, the next
    /// pages of the fill in the same table are copied into new charged
    /// folios the same way, up to [`RUN_PAGES`], until the first whose
    /// allocation, copy or charge fails; that page and those after it
    /// then go on their own, as C fills every page, and report their own
    /// error.  The run's pages are mapped under one hold of the table's
    /// lock.  The copies can only read what C reads: mapping a page of
    /// the fill changes no source byte (a source that is a page of the
    /// fill itself, not mapped yet, cannot be read without a fault, and
    /// ends the run).  The pages taken ahead are allocated and charged
    /// without hard reclaim or the OOM killer
    /// ([`Folio::alloc_anon_ahead`]): C would not allocate them yet.
    /// When the fill stops early, sources after the stop were read
    /// (their accessed bits set) where C reads none.  On an error the
    /// run ends: the table lock goes first, then the folios.
    #[inline]
    fn fill_copy(&mut self, dst: usize, src: usize, pending: &mut Option<Folio>) -> Result {
        let ret = self.copy_page(dst, src, pending);
        if ret.is_err() {
            self.held = None;
            if let Some(run) = self.copy_run.as_mut() {
                run.clear();
            }
        }
        ret
    }

    /// [`Self::fill_copy`] but for the clean-up of a run on an error.
    #[inline]
    fn copy_page(&mut self, dst: usize, src: usize, pending: &mut Option<Folio>) -> Result {
        // The next page of a run: its folio is copied and charged, and its
        // table held.
        if let Some(folio) = self.copy_run.as_mut().and_then(|run| run.take(dst)) {
            // Dropped before `folio` on an error: the PTE lock goes first.
            let table = self.lock_table(dst)?;
            return self.copy_install(table, folio, dst);
        }
        // A new run.  As C: the walk first, then the folio, with no lock
        // held.
        self.held = None;
        if let Some(run) = self.copy_run.as_mut() {
            run.clear();
        }
        let vma = self.vma;
        let reused = self.last_pmd.take().and_then(|pmd| pmd.for_addr(dst));
        let pmd = match reused {
            Some(pmd) => pmd,
            None => vma.prepare_pte_table(dst)?,
        };
        let mut folio = match pending.take() {
            Some(folio) => folio,
            None => {
                let mut folio = Folio::alloc_anon(vma, dst, false)?;
                if !folio.copy_from_user_nofault(src) {
                    *pending = Some(folio);
                    return Err(ENOENT);
                }
                folio
            }
        };
        folio.prepare_new(vma)?;
        // The next pages of the fill in the same table, if any (a fill of
        // one page, a fault's, makes no run).
        let run_end = run_end(dst, self.end);
        if run_end - dst > PAGE_SIZE {
            let run = self.copy_run.get_or_insert_with(Run::new);
            run.start(dst + PAGE_SIZE, run_end, |at| {
                let mut folio = Folio::alloc_anon_ahead(vma, at).ok()?;
                if !folio.copy_from_user_nofault(src + (at - dst)) {
                    return None;
                }
                folio.prepare_new_ahead(vma).ok()?;
                Some(folio)
            });
        }
        let table = match PteTableGuard::lock_pmd(pmd)? {
            Some(table) => {
                self.last_pmd = Some(pmd);
                table
            }
            // The table of an earlier page's entry went away
            // (khugepaged): walk once more, as C walks for every page.
            None if reused.is_some() => {
                let pmd = vma.prepare_pte_table(dst)?;
                let table = PteTableGuard::lock_pmd(pmd)?.ok_or(EAGAIN)?;
                self.last_pmd = Some(pmd);
                table
            }
            None => return Err(EAGAIN),
        };
        self.copy_install(table, folio, dst)
    }

    /// The end of C's `mfill_atomic_pte_copy()` under the locked `table`
    /// at `dst`: `EFAULT` beyond the end of the file, `EEXIST` if the PTE
    /// maps something, else the page of `folio` is mapped.  The table
    /// stays held when the run has a next page.
    #[inline]
    fn copy_install(&mut self, table: PteTableGuard<'a>, folio: Folio, dst: usize) -> Result {
        let more = self.copy_run.as_ref().is_some_and(|run| !run.is_empty());
        self.install_run_page(table, folio, dst, more, |table, folio, flags| {
            table.install_anon_folio(folio, flags)
        })
    }

    /// CONTINUE of the whole aligned `PMD_SIZE` block at `dst` with one
    /// PMD ([`ShmemVma::continue_pmd`]), when the fill covers the block
    /// of a shared writable mapping (a private or read-only one would
    /// get a read-only PMD, and the first write to it, or to it made
    /// writable by `mprotect()`, unmaps the whole block and raises a MINOR
    /// fault, where upstream's PTE copies the page or is already dirty),
    /// and the VMA is not registered for write protection: file memory
    /// has no uffd-wp bit at the PMD level, and a later
    /// `UFFDIO_WRITEPROTECT` would turn the PMD into markers, so that the
    /// next access raised a MINOR fault where upstream's PTEs give a WP
    /// one.  No run of base pages is in progress then:
    /// runs end at the end of their table.  `false`: nothing was mapped,
    /// and the pages go one by one as upstream maps them.
    #[inline]
    fn fill_continue_pmd(&mut self, dst: usize) -> bool {
        let Some(shmem) = self.shmem else {
            return false;
        };
        // The alignment first: it rules out all but one page in 512.
        dst & (PMD_SIZE - 1) == 0
            && self.end.saturating_sub(dst) >= PMD_SIZE
            && self.vma.is_shared()
            && self.vma.flags() & kernel::mm::virt::flags::WRITE != 0
            && !self.flags.wp()
            && !self.vma.uffd_modes().wp
            && self.held.is_none()
            && shmem.continue_pmd(dst)
    }

    /// C: `mfill_atomic_pte()`: the page of `pmd`'s address, whose PTE
    /// table exists, in `mode` (the mode of `self.flags`).
    #[inline(always)]
    fn fill_at(
        &mut self,
        mode: MfillMode,
        pmd: PmdRef<'a>,
        src: usize,
        pending: &mut Option<Folio>,
    ) -> Result {
        let vma = self.vma;
        match (mode, self.shmem) {
            // A private mapping without the zero page: a zeroed
            // anonymous page (COPY into a private mapping never gets
            // here: `fill_copy`).
            (MfillMode::Zeropage, _) if !vma.is_shared() => mfill_atomic_pte_zeroed_folio(vma, pmd),
            // Shared shmem: the page goes into the page cache.
            (MfillMode::Copy | MfillMode::Zeropage, Some(shmem)) if vma.is_shared() => {
                super::shmem::shmem_mfill_atomic_pte(shmem, pmd, src, self.flags, pending)
            }
            // Shared anonymous memory was refused by the pass's checks;
            // POISON and CONTINUE never get here (`fill`), and CONTINUE
            // without shmem was refused by `new`.
            _ => Err(EINVAL),
        }
    }
}

/// The mode of a fill as a const generic argument: an `MfillMode`
/// discriminant.
pub(super) type ModeBits = u32;

const COPY: ModeBits = MfillMode::Copy as ModeBits;
const ZEROPAGE: ModeBits = MfillMode::Zeropage as ModeBits;
const CONTINUE: ModeBits = MfillMode::Continue as ModeBits;
const POISON: ModeBits = MfillMode::Poison as ModeBits;

// The four modes have four different discriminants, so `mode_of` gives
// each mode back.
const _: () = {
    assert!(matches!(mode_of(COPY), MfillMode::Copy));
    assert!(matches!(mode_of(ZEROPAGE), MfillMode::Zeropage));
    assert!(matches!(mode_of(CONTINUE), MfillMode::Continue));
    assert!(matches!(mode_of(POISON), MfillMode::Poison));
};

/// The mode whose discriminant is `bits` (POISON for any other value:
/// only the four constants above are ever given).
#[inline(always)]
const fn mode_of(bits: ModeBits) -> MfillMode {
    match bits {
        COPY => MfillMode::Copy,
        ZEROPAGE => MfillMode::Zeropage,
        CONTINUE => MfillMode::Continue,
        _ => MfillMode::Poison,
    }
}

/// A [`PteStep`] of a fill in the mode `MODE`, known at compile time:
/// [`run_pass`] gives each mode a loop of its own, which holds only that
/// mode's steps, rather than one loop that asks the mode for each page.
struct PteModeStep<'s, 'a, const MODE: ModeBits>(&'s mut PteStep<'a>);

impl<const MODE: ModeBits> FillStep for PteModeStep<'_, '_, MODE> {
    type Pending = Folio;

    #[inline(always)]
    fn holds_lock(&self) -> bool {
        self.0.held.is_some()
    }

    #[inline(always)]
    fn fill(&mut self, dst: usize, src: usize, pending: &mut Option<Folio>) -> Result<usize> {
        let mode = mode_of(MODE);
        if mode == MfillMode::Continue && self.0.fill_continue_pmd(dst) {
            return Ok(PMD_SIZE);
        }
        self.0.fill_page(mode, dst, src, pending)?;
        Ok(PAGE_SIZE)
    }
}

/// [`super::run_pass`] with `step`, in a loop made for the step's mode.
#[inline]
pub(super) fn run_pass(
    step: &mut PteStep<'_>,
    req: &FillRequest,
    progress: &mut FillProgress,
    pending: &mut Option<Folio>,
) -> Result<PassEnd> {
    match step.flags.mode() {
        MfillMode::Copy => super::run_pass(&mut PteModeStep::<COPY>(step), req, progress, pending),
        MfillMode::Zeropage => {
            super::run_pass(&mut PteModeStep::<ZEROPAGE>(step), req, progress, pending)
        }
        MfillMode::Continue => {
            super::run_pass(&mut PteModeStep::<CONTINUE>(step), req, progress, pending)
        }
        MfillMode::Poison => {
            super::run_pass(&mut PteModeStep::<POISON>(step), req, progress, pending)
        }
    }
}

impl<'a> PteStep<'a> {
    /// [`FillStep::fill`] of a base page in `mode` (the mode of
    /// `self.flags`), except for the whole-block CONTINUE of
    /// [`Self::fill_continue_pmd`].
    #[inline(always)]
    fn fill_page(
        &mut self,
        mode: MfillMode,
        dst: usize,
        src: usize,
        pending: &mut Option<Folio>,
    ) -> Result {
        match mode {
            MfillMode::Poison => return self.set_pte(dst, Pte::new_marker(PteMarker::POISONED)),
            MfillMode::Continue => {
                if let Some(shmem) = self.shmem {
                    return self.fill_continue(shmem, dst);
                }
            }
            // A private mapping, of anonymous memory or of a shmem file,
            // gets anonymous pages: filling a hole of a private shmem
            // mapping must not create the page in the file.
            MfillMode::Copy if !self.vma.is_shared() => return self.fill_copy(dst, src, pending),
            // A private mapping gets the zero page where the mm may map
            // it; shared shmem gets a page in the page cache.
            MfillMode::Zeropage if !self.vma.is_shared() => {
                if let Some(zero) = self.zero.get(dst) {
                    return self.set_pte(dst, zero);
                }
            }
            _ => {}
        }
        // A page that sleeps: no table stays locked into it.
        self.held = None;
        let mut reused = self.last_pmd.take().and_then(|pmd| pmd.for_addr(dst));
        // At most two rounds: the second one after a fresh walk.
        loop {
            let pmd = match reused {
                Some(pmd) => pmd,
                None => self.vma.prepare_pte_table(dst)?,
            };
            let ret = self.fill_at(mode, pmd, src, pending);
            // `EAGAIN`: the PTE table went away (khugepaged).  Right after
            // a walk that is the answer, as in C; with an earlier page's
            // entry, walk (allocating a new table) and try once more, as C
            // walks for every page.
            if ret == Err(EAGAIN) && reused.take().is_some() {
                continue;
            }
            if ret.is_ok() {
                self.last_pmd = Some(pmd);
            }
            return ret;
        }
    }
}

/// Locks the PTE table of `pmd`'s address for a fill: `EAGAIN` if the
/// table went away since it was allocated (khugepaged may collapse shmem
/// tables), and `EFAULT` if the address is beyond the end of the VMA's
/// file (C: the start of `mfill_atomic_install_pte()`,
/// `mfill_atomic_pte_zeropage()` and `mfill_atomic_pte_poison()`).
#[inline]
pub(super) fn lock_for_fill<'a>(vma: &'a VmaRef, pmd: PmdRef<'a>) -> Result<PteTableGuard<'a>> {
    let table = PteTableGuard::lock_pmd(pmd)?.ok_or(EAGAIN)?;
    if vma.file_over_size(table.addr()) {
        return Err(EFAULT);
    }
    Ok(table)
}

/// C: `mfill_atomic_install_pte()` of a new anonymous folio: maps its
/// page at `pmd`'s address, which takes the folio's reference.
#[inline]
fn install_new_folio(vma: &VmaRef, pmd: PmdRef<'_>, folio: Folio, flags: MfillFlags) -> Result {
    lock_for_fill(vma, pmd)?.install_new_anon_folio(folio, flags)
}

/// C: `mfill_atomic_pte_zeroed_folio()`: ZEROPAGE where the mm may not
/// map the zero page: a zeroed anonymous page, never write-protected.
fn mfill_atomic_pte_zeroed_folio<'a>(vma: &'a VmaRef, pmd: PmdRef<'a>) -> Result {
    let mut folio = Folio::alloc_anon(vma, pmd.addr(), true)?;
    folio.prepare_new(vma)?;
    let flags = MfillFlags::new(MfillMode::Zeropage, false);
    install_new_folio(vma, pmd, folio, flags)
}
