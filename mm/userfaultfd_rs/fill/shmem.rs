// SPDX-License-Identifier: GPL-2.0

//! The fill of one page of a shared shmem mapping: a new page in the page
//! cache (C: `shmem_mfill_atomic_pte()`, seed 002's one fill function of
//! shmem, taking COPY or ZEROPAGE as its mode).

use super::pte::lock_for_fill;
use kernel::mm::folio::Folio;
use kernel::mm::pgtable::PmdRef;
use kernel::mm::uffd::{MfillFlags, MfillMode};
use kernel::mm::virt::ShmemVma;
use kernel::prelude::*;

/// C: `shmem_mfill_atomic_pte()`: COPY from `src` or ZEROPAGE (as `flags`
/// say) of the page at `pmd.addr()` of the shared shmem VMA `shmem`.
///
/// In C's order:
/// 1. one block of the file's size limit (`ENOMEM` when full; a page
///    pending from an earlier pass is dropped then);
/// 2. the page: the one `pending` holds, filled outside the locks, or a
///    new one, zeroed for ZEROPAGE or copied from `src` with page faults
///    disabled; when that copy falls short, `ENOENT` with the page left in
///    `pending` to be filled without the locks;
/// 3. `EFAULT` if the page lies beyond the end of the file (a truncation
///    raced with the fill);
/// 4. the memory cgroup charge and the page cache (their errors, such as
///    `EEXIST` when a page got there first);
/// 5. the mapping (`EAGAIN` if the PTE table went away, `EFAULT` if a
///    truncation came in between, `EEXIST` if the PTE maps something),
///    after which the inode counts the page.
///
/// Every error gives back what the steps before it took.
pub(super) fn shmem_mfill_atomic_pte(
    shmem: &ShmemVma,
    pmd: PmdRef<'_>,
    src: usize,
    flags: MfillFlags,
    pending: &mut Option<Folio>,
) -> Result {
    let addr = pmd.addr();
    let acct = match shmem.acct_block() {
        Ok(acct) => acct,
        Err(e) => {
            *pending = None;
            return Err(e);
        }
    };
    let folio = match pending.take() {
        Some(folio) => folio,
        None if flags.mode() == MfillMode::Zeropage => shmem.alloc_folio(addr, true)?,
        None => {
            let mut folio = shmem.alloc_folio(addr, false)?;
            if !folio.copy_from_user_nofault(src) {
                *pending = Some(folio);
                return Err(ENOENT);
            }
            folio
        }
    };
    if shmem.file_over_size(addr) {
        return Err(EFAULT);
    }
    let folio = shmem.add_new_folio(addr, folio, acct)?;
    lock_for_fill(shmem, pmd)?.install_new_shmem_folio(folio, flags)
}
