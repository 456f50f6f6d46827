// SPDX-License-Identifier: GPL-2.0
/*
 * Address-space, VMA and folio helpers for the Rust mm abstractions
 * (rust/kernel/mm/): one inline function or macro each, under its own
 * name.
 */

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/page-flags.h>
#include <linux/rmap.h>
#include <linux/sched/mm.h>

void rust_helper_mmget(struct mm_struct *mm)
{
	mmget(mm);
}

bool rust_helper_mmget_not_zero(struct mm_struct *mm)
{
	return mmget_not_zero(mm);
}

void rust_helper_mmap_read_lock(struct mm_struct *mm)
{
	mmap_read_lock(mm);
}

void rust_helper_mmap_read_unlock(struct mm_struct *mm)
{
	mmap_read_unlock(mm);
}

struct vm_area_struct *rust_helper_vma_lookup(struct mm_struct *mm,
					      unsigned long addr)
{
	return vma_lookup(mm, addr);
}

void rust_helper_vma_end_read(struct vm_area_struct *vma)
{
	vma_end_read(vma);
}

int rust_helper_anon_vma_prepare(struct vm_area_struct *vma)
{
	return anon_vma_prepare(vma);
}

void rust_helper_folio_put(struct folio *folio)
{
	folio_put(folio);
}

bool rust_helper_PageHWPoison(struct page *page)
{
	return PageHWPoison(page);
}

bool rust_helper_folio_test_hwpoison(struct folio *folio)
{
	return folio_test_hwpoison(folio);
}

loff_t rust_helper_i_size_read(const struct inode *inode)
{
	return i_size_read(inode);
}
