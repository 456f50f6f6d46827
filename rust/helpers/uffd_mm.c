// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers for the Rust mm abstractions of the userfaultfd implementation
 * (rust/kernel/mm/): inline functions of the page-table and swap-entry
 * headers, wrapped so that Rust can call them.
 */

#include <linux/hugetlb.h>
#include <linux/mmap_lock.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/swapops.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd_k.h>

int rust_helper_pte_none(pte_t pte)
{
	return pte_none(pte);
}

int rust_helper_pte_present(pte_t pte)
{
	return pte_present(pte);
}

swp_entry_t rust_helper_pte_to_swp_entry(pte_t pte)
{
	return pte_to_swp_entry(pte);
}

pte_t rust_helper_swp_entry_to_pte(swp_entry_t entry)
{
	return swp_entry_to_pte(entry);
}

swp_entry_t rust_helper_swp_entry(unsigned long type, pgoff_t offset)
{
	return swp_entry(type, offset);
}

#ifdef CONFIG_HUGETLB_PAGE
int rust_helper_huge_pte_none(pte_t pte)
{
	return huge_pte_none(pte);
}
#endif

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

pte_t rust_helper_ptep_get(pte_t *ptep)
{
	return ptep_get(ptep);
}

void rust_helper_pte_unmap_unlock(pte_t *pte, spinlock_t *ptl)
{
	pte_unmap_unlock(pte, ptl);
}

/*
 * The PMD entry that covers @addr, or NULL when an upper level is not
 * populated or is a huge leaf.  The caller holds the mmap lock or the VMA
 * lock, which keeps the upper levels from being freed; whether the PMD
 * points at a PTE table is for pte_offset_map_lock() to decide.
 */
pmd_t *rust_helper_uffd_find_pmd(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;

	if (!pgd_present(*pgd))
		return NULL;
	p4d = p4d_offset(pgd, addr);
	if (!p4d_present(*p4d))
		return NULL;
	pud = pud_offset(p4d, addr);
	if (!pud_present(*pud) || pud_leaf(*pud))
		return NULL;
	return pmd_offset(pud, addr);
}

bool rust_helper_pte_uffd_wp(pte_t pte)
{
	return pte_uffd_wp(pte);
}

bool rust_helper_pte_swp_uffd_wp(pte_t pte)
{
	return pte_swp_uffd_wp(pte);
}

void rust_helper_set_pte_at(struct mm_struct *mm, unsigned long addr,
			    pte_t *ptep, pte_t pte)
{
	set_pte_at(mm, addr, ptep, pte);
}

/* One warning for the Rust PteSlot guard against overwriting a live PTE */
void rust_helper_uffd_warn_pte_not_none(void)
{
	WARN_ON_ONCE(1);
}

bool rust_helper_mmget_not_zero(struct mm_struct *mm)
{
	return mmget_not_zero(mm);
}

/* The result field of a userfaultfd ioctl: 0 or -EFAULT */
int rust_helper_uffd_put_user_s64(s64 value, s64 __user *ptr)
{
	return put_user(value, ptr);
}

/* One call per filled page: cond_resched(), then fatal_signal_pending() */
bool rust_helper_uffd_cond_resched_fatal_signal_pending(void)
{
	cond_resched();
	return fatal_signal_pending(current);
}
