// SPDX-License-Identifier: GPL-2.0
/*
 * C shims of the Rust userfaultfd implementation for what lives in mm's
 * internal headers (mm/internal.h, mm/vma.h), which the Rust bindings do
 * not see.
 */

#include <linux/mm.h>
#include <linux/userfaultfd_rs.h>
#include <asm/tlbflush.h>
#include <asm/tlb.h>
#include "internal.h"

bool uffd_rs_vma_wants_manual_pte_write_upgrade(struct vm_area_struct *vma)
{
	return vma_wants_manual_pte_write_upgrade(vma);
}

/*
 * change_protection() of [start, end) in @vma with its own TLB batch: the
 * mmu_gather points into itself, so it lives on this C stack frame rather
 * than in Rust.  The caller holds the mmap lock.
 */
long uffd_rs_change_protection(struct vm_area_struct *vma, unsigned long start,
			       unsigned long end, unsigned long cp_flags)
{
	struct mmu_gather tlb;
	long ret;

	tlb_gather_mmu(&tlb, vma->vm_mm);
	ret = change_protection(&tlb, vma, start, end, cp_flags);
	tlb_finish_mmu(&tlb);
	return ret;
}
