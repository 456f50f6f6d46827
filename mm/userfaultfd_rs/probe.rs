// SPDX-License-Identifier: GPL-2.0

//! The PTE probe behind `/sys/kernel/debug/userfaultfd_rs/pte`, for the
//! selftests: what the page table of the current task holds at an
//! address, looked up with the abstractions the fill and fault paths use.

use kernel::bindings;
use kernel::mm::pgtable::PteTableGuard;
use kernel::mm::virt::VmaRef;
use kernel::mm::MmWithUser;
use kernel::prelude::*;

/// C: `userfaultfd_rs_probe_pte()`: a `UFFD_RS_PROBE_*` kind, with the
/// marker bits in bits 8 and up.  `ESRCH` without an address space,
/// `ENOENT` without a VMA at `addr`, `EOPNOTSUPP` in hugetlb.
pub(crate) fn probe_pte(addr: usize) -> Result<u64> {
    let mm = MmWithUser::current().ok_or(ESRCH)?;
    // As the fault path does: the per-VMA lock first, the mmap lock when
    // that fails.
    if let Some(vma) = mm.lock_vma_under_rcu(addr) {
        return probe_in_vma(&vma, addr);
    }
    let mmap = mm.mmap_read_lock();
    let vma = mmap.vma_lookup(addr).ok_or(ENOENT)?;
    probe_in_vma(vma, addr)
}

fn probe_in_vma(vma: &VmaRef, addr: usize) -> Result<u64> {
    let Some(table) = PteTableGuard::lock(vma, addr)? else {
        return Ok(bindings::UFFD_RS_PROBE_NO_TABLE.into());
    };
    let pte = table.get();
    Ok(if pte.is_none() {
        bindings::UFFD_RS_PROBE_NONE.into()
    } else if pte.is_present() {
        bindings::UFFD_RS_PROBE_PRESENT.into()
    } else if let Some(marker) = pte.marker() {
        u64::from(bindings::UFFD_RS_PROBE_MARKER) | (marker.bits() << 8)
    } else {
        bindings::UFFD_RS_PROBE_SWAP.into()
    })
}
